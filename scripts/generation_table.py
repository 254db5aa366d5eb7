"""generation_table.py: results/generation/table.md and the FCD curves' CSVs from experiment-generation.sh's
runs (called by it; standard library only)."""
import csv, json, os, statistics, sys

out, objectives, *data_seeds, sigmas, fcd_n = sys.argv[1:]
objectives, sigmas = objectives.split(), sigmas.split()
runs = os.path.join(out, "runs")


def load(path):
    with open(path) as f:
        return json.load(f)


def num(v):
    """A figure to about three significant digits: 0.0355, 9.99, 119.9, 5035."""
    return "%.0f" % v if abs(v) >= 1000 else "%.1f" % v if abs(v) >= 10 else "%.3g" % v


def cell(values, fmt=None):
    if not values:
        return "n/a"
    f = (lambda v: fmt % v) if fmt else num
    if len(values) == 1:
        return f(values[0])
    return "%s ± %s" % (f(statistics.mean(values)), f(statistics.stdev(values)))


def fcd_curve(run):
    """[(training minutes, fcd)] from log.csv: minutes = step / the session's cumulative steps/s."""
    points = []
    with open(os.path.join(run, "log.csv")) as f:
        for row in csv.DictReader(f):
            if row.get("fcd"):
                points.append((int(row["step"]) / float(row["steps_per_sec"]) / 60, float(row["fcd"])))
    return points


lines = ["# Time-dependent EBMs: annealed generation scored by FCD", "",
         "Written by `scripts/experiment-generation.sh` (settings in its header; ours, not the paper's). FCD is the "
         "Fréchet classifier distance on the features of a classifier trained here (never FID), %s annealed "
         "samples against as many held-out images; floor: training images, ceiling: uniform noise. Mean ± sd "
         "over seeds where there are several." % fcd_n, ""]
for spec in data_seeds:
    data, seeds = spec.split("=")
    seeds = seeds.split()
    if not seeds:
        continue
    cls = load(os.path.join(runs, "classifier-%s" % data, "metrics.json"))
    lines += ["## %s (seeds %s; classifier held-out accuracy %.3f)" % (data, ", ".join(seeds), cls["accuracy"]), "",
              "| objective | steps | FCD at the end | floor | ceiling | training s (steps/s) | MALA acceptance | "
              "E(data, t) | E(negatives, t) | samples |", "|---|---|---|---|---|---|---|---|---|---|"]
    for obj in objectives:
        ms = [load(os.path.join(runs, "%s-%s-s%s" % (data, obj, s), "metrics.json")) for s in seeds]
        get = lambda key: [m[key] for m in ms if m.get(key) is not None]
        fcd = lambda key: [m["fcd"][key] for m in ms if "fcd" in m]
        lines.append("| %s | %d | %s | %s | %s | %s (%s) | %s | %s | %s | %s |" % (
            obj, ms[0]["steps_done"], cell(fcd("value")), cell(fcd("floor")), cell(fcd("ceiling")),
            cell(get("seconds"), "%.0f"), cell(get("steps_per_sec"), "%.2f"),
            cell(get("acceptance"), "%.2f") if "ula" not in ms[0]["config"].get("sampler", "") else "ULA",
            cell(get("energy_data")),
            cell(get("energy_neg")), ", ".join("[s%s](%s-%s-s%s.png)" % (s, data, obj, s) for s in seeds)))
        for s in seeds:
            with open(os.path.join(runs, "curve-%s-%s-s%s.csv" % (data, obj, s)), "w") as f:
                f.write("minutes,fcd\n")
                for x, y in fcd_curve(os.path.join(runs, "%s-%s-s%s" % (data, obj, s))):
                    f.write("%.4f,%.4f\n" % (x, y))
    lines += ["", "FCD against training time: [fcd-%s.png](fcd-%s.png)." % (data, data), ""]

den_seed = data_seeds[0].split("=")[1].split()[0]
den = os.path.join(runs, "mnist-time-dcd-ve-s%s" % den_seed)
lines += ["## Denoising MNIST with the time-DCD-VE model (seed %s), annealed from the level nearest σ" % den_seed, "",
          "| σ | level (its σ) | noisy PSNR dB | Gaussian filter | time-DCD-VE | SSIM noisy / filter / model | "
          "acceptance |", "|---|---|---|---|---|---|---|"]
for s in sigmas:
    j = load(os.path.join(den, "denoise-%s.json" % s))
    q = lambda k: "%.2f ± %.2f" % (j[k]["psnr_mean"], j[k]["psnr_sd"])
    lines.append("| %s | %d (%.3f) | %s | %s | **%s** | %.3f / %.3f / %.3f | %.2f |" % (
        s, j["annealed_from_level"], j["annealed_from_level_sigma"], q("noisy"), q("gaussian_filter"), q("model"),
        j["noisy"]["ssim_mean"], j["gaussian_filter"]["ssim_mean"], j["model"]["ssim_mean"], j["acceptance"]))
lines.append("")
with open(os.path.join(out, "table.md"), "w") as f:
    f.write("\n".join(lines))
