#!/usr/bin/python3
"""image_oracle.py: an independent numpy implementation of SSIM and the Gaussian filter of
runtime/report/image.h, for test_image_oracle. It computes the other way round from the C code: SSIM
from explicit 11 x 11 windows (numpy's sliding_window_view) rather than separable passes, the filter as
a 2-D convolution of a numpy-padded plane rather than two 1-D passes with mirrored indices.

    image_oracle.py ssim N C H W RANGE X.f32 Y.f32       prints N SSIM values, one a line
    image_oracle.py blur N C H W SIGMA X.f32 OUT.f32     writes the filtered images (float64)

Files are raw little-endian float32 [N, C, H, W]. Exit 77 (CTest's skip) when numpy is missing."""
import math
import sys

try:
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view
except ImportError:
    print("numpy is missing", file=sys.stderr)
    sys.exit(77)


def gaussian_2d(radius, sigma):
    d = np.arange(-radius, radius + 1, dtype=np.float64)
    yy, xx = np.meshgrid(d, d, indexing="ij")
    k = np.exp(-(xx**2 + yy**2) / (2.0 * sigma * sigma))
    return k / k.sum()


def ssim_plane(x, y, rng):
    win = gaussian_2d(5, 1.5)  # Wang et al.: 11 x 11, sigma 1.5, normalized
    wx, wy = sliding_window_view(x, (11, 11)), sliding_window_view(y, (11, 11))  # "valid" positions only
    mx = np.einsum("ijkl,kl->ij", wx, win)
    my = np.einsum("ijkl,kl->ij", wy, win)
    vx = np.einsum("ijkl,kl->ij", (wx - mx[:, :, None, None]) ** 2, win)  # central moments directly
    vy = np.einsum("ijkl,kl->ij", (wy - my[:, :, None, None]) ** 2, win)
    cxy = np.einsum("ijkl,kl->ij", (wx - mx[:, :, None, None]) * (wy - my[:, :, None, None]), win)
    c1, c2 = (0.01 * rng) ** 2, (0.03 * rng) ** 2
    lum = (2 * mx * my + c1) / (mx**2 + my**2 + c1)
    cs = (2 * cxy + c2) / (vx + vy + c2)
    return float((lum * cs).mean())


def main(argv):
    op = argv[1]
    n, c, h, w = (int(a) for a in argv[2:6])
    param = float(argv[6])
    x = np.fromfile(argv[7], dtype="<f4").astype(np.float64).reshape(n, c, h, w)
    if op == "ssim":
        y = np.fromfile(argv[8], dtype="<f4").astype(np.float64).reshape(n, c, h, w)
        for i in range(n):
            print(repr(np.mean([ssim_plane(x[i, ch], y[i, ch], param) for ch in range(c)])))
    elif op == "blur":
        r = math.ceil(3 * param)
        k = gaussian_2d(r, param)
        out = np.empty_like(x)
        for i in range(n):
            for ch in range(c):
                p = x[i, ch]
                while p.shape[0] < h + 2 * r or p.shape[1] < w + 2 * r:  # pad in steps a plane wide at most
                    ph, pw = min(r, p.shape[0]), min(r, p.shape[1])
                    p = np.pad(p, ((ph, ph), (pw, pw)), mode="symmetric")
                off_h, off_w = (p.shape[0] - h) // 2 - r, (p.shape[1] - w) // 2 - r
                p = p[off_h:off_h + h + 2 * r, off_w:off_w + w + 2 * r]
                out[i, ch] = np.einsum("ijkl,kl->ij", sliding_window_view(p, k.shape), k)
        out.astype("<f8").tofile(argv[8])
    else:
        sys.exit("unknown operation " + op)


if __name__ == "__main__":
    main(sys.argv)
