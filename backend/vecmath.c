/* vecmath.c: exp and log of float as inline, branch-free LLVM IR (see vecmath.h).
 *
 * exp(x) = 2^n exp(r): n = round(x / ln2), r = x - n ln2 in [-ln2/2, ln2/2] by a two-constant
 * Cody-Waite split, exp(r) = 1 + r + r^2 P(r) with a degree-5 minimax P, and 2^n applied as two exact
 * powers of two built in the exponent bits, so that the one rounding of the last multiply also gives
 * correctly rounded subnormals and overflow to +inf.
 *
 * log(x) = e ln2 + log(m): x = 2^e m with m in [sqrt(1/2), sqrt(2)) taken from the bits (subnormals
 * scaled by 2^23 first), f = m - 1 exactly, log(1 + f) = f - f^2/2 + f^3 P(f) with a degree-8 minimax P,
 * and e ln2 added in two pieces (Cody-Waite), the large one last.
 *
 * sin(x), cos(x): n = rint(x 2/pi), r = x - n pi/2 by a three-constant Cody-Waite split (exact
 * products inside FMA), a second such step that corrects n by one where x 2/pi rounded the wrong way,
 * then the sine or cosine polynomial of r in [-pi/4, pi/4] (degree 7 and 8) by the quadrant n mod 4,
 * and its sign. n stays a float (rint, then n - 4 floor(n / 4) for the quadrant), so no conversion can
 * overflow; |x| > 2^22 gives NaN (see vecmath.h).
 *
 * pow(a, e) = exp(e log|a|) in double: log by the atanh series on the same mantissa split, exp by a
 * Cody-Waite reduction and a Taylor polynomial, and one rounding to float at the end. Done in float,
 * rounding e log|a| alone costs |e log a| 2^-24 relative (56 ulps for x^3 near 2e5).
 *
 * The coefficients are Cephes' (expf.c, logf.c, sinf.c; Stephen L. Moshier). Special inputs are fixed up
 * by selects at the end, never by branches. */
#include "vecmath.h"

#include <stdint.h>
#include <string.h>

#define MAX_LANES 64

struct vm {
    LLVMBuilderRef b;
    LLVMModuleRef mod;
    LLVMTypeRef f, i;    /* float and i32, or vectors of them shaped like x */
    LLVMTypeRef f_scalar, i_scalar;
    unsigned lanes;      /* 0 for scalars */
    int fma;
};

static struct vm vm_init(LLVMBuilderRef b, LLVMValueRef x, int fma) {
    struct vm v;
    memset(&v, 0, sizeof v);
    v.b = b;
    v.mod = LLVMGetGlobalParent(LLVMGetBasicBlockParent(LLVMGetInsertBlock(b)));
    v.f = LLVMTypeOf(x);
    LLVMContextRef ctx = LLVMGetTypeContext(v.f);
    v.f_scalar = LLVMFloatTypeInContext(ctx);
    v.i_scalar = LLVMInt32TypeInContext(ctx);
    v.i = v.i_scalar;
    if (LLVMGetTypeKind(v.f) == LLVMVectorTypeKind) {
        v.lanes = LLVMGetVectorSize(v.f);
        v.i = LLVMVectorType(v.i_scalar, v.lanes);
    }
    v.fma = fma;
    return v;
}

static LLVMValueRef splat(struct vm *v, LLVMValueRef s) {
    if (!v->lanes) return s;
    LLVMValueRef e[MAX_LANES];
    for (unsigned k = 0; k < v->lanes; k++) e[k] = s;
    return LLVMConstVector(e, v->lanes);
}

static LLVMValueRef fc(struct vm *v, double d) { return splat(v, LLVMConstReal(v->f_scalar, d)); }

static LLVMValueRef ic(struct vm *v, int64_t k) {
    return splat(v, LLVMConstInt(v->i_scalar, (unsigned long long)(int64_t)k, 1));
}

/* A float given by its bits, for constants that must be exact (2^23 and the like). */
static LLVMValueRef fbits(struct vm *v, uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return fc(v, (double)f);
}

static LLVMValueRef fadd(struct vm *v, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFAdd(v->b, a, b, ""); }
static LLVMValueRef fsub(struct vm *v, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFSub(v->b, a, b, ""); }
static LLVMValueRef fmul(struct vm *v, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFMul(v->b, a, b, ""); }

static LLVMValueRef fcmp(struct vm *v, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildFCmp(v->b, p, a, b, "");
}

static LLVMValueRef sel(struct vm *v, LLVMValueRef c, LLVMValueRef yes, LLVMValueRef no) {
    return LLVMBuildSelect(v->b, c, yes, no, "");
}

static LLVMValueRef to_int(struct vm *v, LLVMValueRef x) { return LLVMBuildBitCast(v->b, x, v->i, ""); }
static LLVMValueRef to_float(struct vm *v, LLVMValueRef x) { return LLVMBuildBitCast(v->b, x, v->f, ""); }

/* An LLVM intrinsic overloaded on x's type (float or vector of float). */
static LLVMValueRef call(struct vm *v, const char *name, LLVMValueRef *args, unsigned n) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(v->mod, id, &v->f, 1);
    LLVMTypeRef type = LLVMIntrinsicGetType(LLVMGetTypeContext(v->f), id, &v->f, 1);
    return LLVMBuildCall2(v->b, type, fn, args, n, "");
}

/* a * b + c: one rounding with FMA, two without. */
static LLVMValueRef mul_add(struct vm *v, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
    if (!v->fma) return fadd(v, fmul(v, a, b), c);
    LLVMValueRef args[3] = {a, b, c};
    return call(v, "llvm.fma", args, 3);
}

/* c[0] + x (c[1] + x (c[2] + ...)), highest degree last in c */
static LLVMValueRef horner(struct vm *v, LLVMValueRef x, const double *c, int n) {
    LLVMValueRef p = fc(v, c[n - 1]);
    for (int k = n - 2; k >= 0; k--) p = mul_add(v, p, x, fc(v, c[k]));
    return p;
}

/* ln2 = LN2_HI + LN2_LO: LN2_HI has 9 significant bits, so n * LN2_HI is exact for |n| < 2^15. */
#define LN2_HI 0.693359375
#define LN2_LO -2.12194440e-4

/* 2^n for n in [-126, 127], built in the exponent field */
static LLVMValueRef pow2i(struct vm *v, LLVMValueRef n) {
    return to_float(v, LLVMBuildShl(v->b, LLVMBuildAdd(v->b, n, ic(v, 127), ""), ic(v, 23), ""));
}

LLVMValueRef vecmath_exp(LLVMBuilderRef b, LLVMValueRef x, int fma) {
    /* exp(r) = 1 + r + r^2 P(r) on [-ln2/2, ln2/2] */
    static const double P[] = {5.0000001201E-1, 1.6666665459E-1, 4.1665795894E-2, 8.3334519073E-3,
                               1.3981999507E-3, 1.9875691500E-4};
    struct vm v = vm_init(b, x, fma);
    /* Clamp to where exp is certainly 0 (below -103.98) or +inf (above 88.73), keeping n small enough
     * for the split scaling below. NaN fails both compares and passes through. */
    LLVMValueRef xc = sel(&v, fcmp(&v, LLVMRealOGT, x, fc(&v, 90)), fc(&v, 90), x);
    xc = sel(&v, fcmp(&v, LLVMRealOLT, xc, fc(&v, -110)), fc(&v, -110), xc);
    /* n = round(x / ln2): adding 1.5 * 2^23 rounds to an integer, which then sits in the low
     * mantissa bits (for |n| < 2^22), so no float-to-int conversion is needed. */
    LLVMValueRef shifter = fbits(&v, 0x4B400000u); /* 1.5 * 2^23 */
    LLVMValueRef k = mul_add(&v, xc, fc(&v, 1.44269504088896341), shifter);
    LLVMValueRef nf = fsub(&v, k, shifter);
    LLVMValueRef n = LLVMBuildSub(b, to_int(&v, k), ic(&v, 0x4B400000), "");
    /* r = x - n ln2: the first step is exact (with or without FMA), the second rounds once */
    LLVMValueRef r = mul_add(&v, nf, fc(&v, -LN2_HI), xc);
    r = mul_add(&v, nf, fc(&v, -LN2_LO), r);
    LLVMValueRef y = fadd(&v, mul_add(&v, horner(&v, r, P, 6), fmul(&v, r, r), r), fc(&v, 1));
    /* y 2^n with n in [-159, 130] as y 2^n1 2^n2, n1 = floor(n / 2), n2 = n - n1, both normal
     * powers: y 2^n1 is exact, and the last multiply rounds once (to a subnormal, or to +inf). */
    LLVMValueRef n1 = LLVMBuildAShr(b, n, ic(&v, 1), "");
    LLVMValueRef n2 = LLVMBuildSub(b, n, n1, "");
    return fmul(&v, fmul(&v, y, pow2i(&v, n1)), pow2i(&v, n2));
}

LLVMValueRef vecmath_log(LLVMBuilderRef b, LLVMValueRef x, int fma) {
    /* log(1 + f) = f - f^2/2 + f^3 P(f) for f in [sqrt(1/2) - 1, sqrt(2) - 1] */
    static const double P[] = {3.3333331174E-1,  -2.4999993993E-1, 2.0000714765E-1,
                               -1.6668057665E-1, 1.4249322787E-1,  -1.2420140846E-1,
                               1.1676998740E-1,  -1.1514610310E-1, 7.0376836292E-2};
    struct vm v = vm_init(b, x, fma);
    /* Subnormals (and zero and negatives, fixed up below) are scaled into the normal range. */
    LLVMValueRef tiny = fcmp(&v, LLVMRealOLT, x, fbits(&v, 0x00800000u)); /* x < 2^-126 */
    LLVMValueRef xs = sel(&v, tiny, fmul(&v, x, fbits(&v, 0x4B000000u)), x); /* x 2^23 */
    LLVMValueRef bias = sel(&v, tiny, ic(&v, -23), ic(&v, 0));
    /* x = 2^e m, m in [sqrt(1/2), sqrt(2)): offsetting the bits by those of sqrt(1/2) before taking
     * the exponent field moves the mantissa range's cut from 1 to sqrt(2). */
    LLVMValueRef ix = LLVMBuildSub(b, to_int(&v, xs), ic(&v, 0x3F3504F3), "");
    LLVMValueRef e = LLVMBuildAdd(b, LLVMBuildAShr(b, ix, ic(&v, 23), ""), bias, "");
    LLVMValueRef mbits = LLVMBuildAdd(b, LLVMBuildAnd(b, ix, ic(&v, 0x007FFFFF), ""), ic(&v, 0x3F3504F3), "");
    LLVMValueRef f = fsub(&v, to_float(&v, mbits), fc(&v, 1)); /* exact */
    LLVMValueRef ef = LLVMBuildSIToFP(b, e, v.f, "");
    LLVMValueRef z = fmul(&v, f, f);
    LLVMValueRef y = fmul(&v, fmul(&v, horner(&v, f, P, 9), f), z); /* f^3 P(f) */
    y = mul_add(&v, ef, fc(&v, LN2_LO), y);
    y = mul_add(&v, z, fc(&v, -0.5), y);
    LLVMValueRef res = mul_add(&v, ef, fc(&v, LN2_HI), fadd(&v, f, y));
    /* special inputs, in order of increasing precedence */
    res = sel(&v, fcmp(&v, LLVMRealOLT, x, fc(&v, 0)), fbits(&v, 0x7FC00000u), res);
    res = sel(&v, fcmp(&v, LLVMRealOEQ, x, fc(&v, 0)), fbits(&v, 0xFF800000u), res);
    res = sel(&v, fcmp(&v, LLVMRealOEQ, x, fbits(&v, 0x7F800000u)), x, res);
    return sel(&v, fcmp(&v, LLVMRealUNO, x, x), x, res);
}

/* pi/2 = PIO2_1 + PIO2_2 + PIO2_3 (twice Cephes' DP1..DP3): PIO2_1 has 8 significant bits and PIO2_2
 * 11, so n PIO2_1 and n PIO2_2 are exact for |n| < 2^13, i.e. |x| < 8192 pi/2 ~ 12868. */
#define PIO2_1 1.5703125
#define PIO2_2 4.837512969970703125e-4
#define PIO2_3 7.54978995489188216e-8

/* x - n pi/2, one piece at a time */
static LLVMValueRef reduce_pio2(struct vm *v, LLVMValueRef n, LLVMValueRef x) {
    LLVMValueRef r = mul_add(v, n, fc(v, -PIO2_1), x);
    r = mul_add(v, n, fc(v, -PIO2_2), r);
    return mul_add(v, n, fc(v, -PIO2_3), r);
}

static LLVMValueRef sincos(LLVMBuilderRef b, LLVMValueRef x, int fma, int cosine) {
    static const double S[] = {-1.6666654611E-1, 8.3321608736E-3, -1.9515295891E-4}; /* sin r = r + r^3 S(r^2) */
    static const double C[] = {4.166664568298827E-2, -1.388731625493765E-3, 2.443315711809948E-5}; /* cos */
    struct vm v = vm_init(b, x, fma);
    LLVMValueRef n = call(&v, "llvm.rint", (LLVMValueRef[]){fmul(&v, x, fc(&v, 0.636619772367581343))}, 1);
    LLVMValueRef r = reduce_pio2(&v, n, x);
    /* For large x, x 2/pi has rounded and n may be one off, leaving |r| up to ~1 where the polynomials
     * are inaccurate: a second, exact step with k = rint(r 2/pi) in {-1, 0, 1} brings r back. */
    LLVMValueRef k = call(&v, "llvm.rint", (LLVMValueRef[]){fmul(&v, r, fc(&v, 0.636619772367581343))}, 1);
    r = reduce_pio2(&v, k, r);
    n = fadd(&v, n, k);
    LLVMValueRef z = fmul(&v, r, r);
    LLVMValueRef sin_r = mul_add(&v, fmul(&v, r, z), horner(&v, z, S, 3), r);
    LLVMValueRef cos_r = mul_add(&v, fmul(&v, z, z), horner(&v, z, C, 3), mul_add(&v, z, fc(&v, -0.5), fc(&v, 1)));
    /* quadrant q = n mod 4 (cos x = sin(x + pi/2): one quadrant on), exact in float */
    LLVMValueRef q = cosine ? fadd(&v, n, fc(&v, 1)) : n;
    q = fsub(&v, q, fmul(&v, call(&v, "llvm.floor", (LLVMValueRef[]){fmul(&v, q, fc(&v, 0.25))}, 1), fc(&v, 4)));
    LLVMValueRef even = fcmp(&v, LLVMRealOEQ, call(&v, "llvm.floor", (LLVMValueRef[]){fmul(&v, q, fc(&v, 0.5))}, 1),
                            fmul(&v, q, fc(&v, 0.5)));
    LLVMValueRef y = sel(&v, even, sin_r, cos_r); /* q even: sin(r) or -sin(r); odd: cos(r) or -cos(r) */
    y = sel(&v, fcmp(&v, LLVMRealOGE, q, fc(&v, 2)), LLVMBuildFNeg(b, y, ""), y);
    /* Past 2^22, x 2/pi rounds by more than 1/2 and n can be wrong by several quadrants: NaN rather than
     * a wrong or unbounded value (also for +-inf; a NaN x fails the compare and stays NaN). */
    if (!cosine) y = sel(&v, fcmp(&v, LLVMRealOEQ, x, fc(&v, 0)), x, y); /* sin(-0) = -0 */
    LLVMValueRef abs_x = call(&v, "llvm.fabs", &x, 1);
    return sel(&v, fcmp(&v, LLVMRealOLE, abs_x, fc(&v, 4194304.0)), y, fbits(&v, 0x7FC00000u));
}

LLVMValueRef vecmath_sin(LLVMBuilderRef b, LLVMValueRef x, int fma) { return sincos(b, x, fma, 0); }
LLVMValueRef vecmath_cos(LLVMBuilderRef b, LLVMValueRef x, int fma) { return sincos(b, x, fma, 1); }

/* The same helpers on double (and i64) lanes, shaped like f's floats. */
static struct vm vm_double(const struct vm *f) {
    struct vm v = *f;
    LLVMContextRef ctx = LLVMGetTypeContext(f->f);
    v.f = v.f_scalar = LLVMDoubleTypeInContext(ctx);
    v.i = v.i_scalar = LLVMInt64TypeInContext(ctx);
    if (v.lanes) {
        v.f = LLVMVectorType(v.f_scalar, v.lanes);
        v.i = LLVMVectorType(v.i_scalar, v.lanes);
    }
    return v;
}

/* ln2 = LN2D_HI + LN2D_LO (fdlibm's split): n LN2D_HI is exact for |n| < 2^20. */
#define LN2D_HI 6.93147180369123816490e-01
#define LN2D_LO 1.90821492927058770002e-10

LLVMValueRef vecmath_pow(LLVMBuilderRef b, LLVMValueRef a, LLVMValueRef e, int fma) {
    /* log(m) = 2 atanh(s) = 2s + s z P(z), s = (m - 1) / (m + 1), z = s^2 <= 0.0295: P to z^6 leaves
     * 3e-14 relative; exp(r) by Taylor to r^12 for |r| <= ln2/2 leaves 2e-16. */
    static const double P[] = {2.0 / 3, 2.0 / 5, 2.0 / 7, 2.0 / 9, 2.0 / 11, 2.0 / 13, 2.0 / 15};
    static const double E[] = {1.0,           1.0,            1.0 / 2,         1.0 / 6,          1.0 / 24,
                               1.0 / 120,     1.0 / 720,      1.0 / 5040,      1.0 / 40320,      1.0 / 362880,
                               1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600};
    struct vm vf = vm_init(b, a, fma), v = vm_double(&vf);
    LLVMValueRef x = LLVMBuildFPExt(b, call(&vf, "llvm.fabs", &a, 1), v.f, "");
    LLVMValueRef ed = LLVMBuildFPExt(b, e, v.f, "");
    /* x = 2^k m, m in [sqrt(1/2), sqrt(2)), from the bits (every float, subnormals too, is a normal
     * double), as in vecmath_log */
    LLVMValueRef ix = LLVMBuildSub(b, to_int(&v, x), ic(&v, 0x3FE6A09E667F3BCDll), "");
    LLVMValueRef k = LLVMBuildSIToFP(b, LLVMBuildAShr(b, ix, ic(&v, 52), ""), v.f, "");
    LLVMValueRef m = to_float(&v, LLVMBuildAdd(b, LLVMBuildAnd(b, ix, ic(&v, 0x000FFFFFFFFFFFFFll), ""),
                                               ic(&v, 0x3FE6A09E667F3BCDll), ""));
    LLVMValueRef s = LLVMBuildFDiv(b, fsub(&v, m, fc(&v, 1)), fadd(&v, m, fc(&v, 1)), ""); /* m -+ 1 exact */
    LLVMValueRef z = fmul(&v, s, s);
    LLVMValueRef logm = mul_add(&v, fmul(&v, s, z), horner(&v, z, P, 7), fadd(&v, s, s));
    LLVMValueRef l = mul_add(&v, k, fc(&v, LN2D_HI), mul_add(&v, k, fc(&v, LN2D_LO), logm));
    l = sel(&v, fcmp(&v, LLVMRealOEQ, x, fc(&v, 0)), fc(&v, -__builtin_inf()), l);
    l = sel(&v, fcmp(&v, LLVMRealOEQ, x, fc(&v, __builtin_inf())), x, l);
    l = sel(&v, fcmp(&v, LLVMRealUNO, x, x), x, l);
    LLVMValueRef y = fmul(&v, ed, l);
    /* exp(y) = 2^n exp(r): y clamped to where the float result is surely 0 or inf, NaN set aside (the
     * conversion to an integer would be poison), and 2^n (|n| <= 289) built in the exponent bits */
    LLVMValueRef yc = sel(&v, fcmp(&v, LLVMRealOGT, y, fc(&v, 200)), fc(&v, 200), y);
    yc = sel(&v, fcmp(&v, LLVMRealOLT, yc, fc(&v, -200)), fc(&v, -200), yc);
    yc = sel(&v, fcmp(&v, LLVMRealUNO, y, y), fc(&v, 0), yc);
    LLVMValueRef n = call(&v, "llvm.rint", (LLVMValueRef[]){fmul(&v, yc, fc(&v, 1.4426950408889634))}, 1);
    LLVMValueRef r = mul_add(&v, n, fc(&v, -LN2D_LO), mul_add(&v, n, fc(&v, -LN2D_HI), yc));
    LLVMValueRef ni = LLVMBuildFPToSI(b, n, v.i, "");
    LLVMValueRef p2 = to_float(&v, LLVMBuildShl(b, LLVMBuildAdd(b, ni, ic(&v, 1023), ""), ic(&v, 52), ""));
    LLVMValueRef res = fmul(&v, horner(&v, r, E, 13), p2);
    res = sel(&v, fcmp(&v, LLVMRealUNO, y, y), y, res);
    return LLVMBuildFPTrunc(b, res, vf.f, ""); /* the one rounding to float */
}
