/* vecmath.h: internal to backend/. exp and log of float emitted inline as branch-free LLVM IR, so that
 * loops calling them vectorize (llvm.exp.f32 / llvm.log.f32 become scalar expf / logf calls, which the
 * loop vectorizer cannot widen without a vector math library).
 *
 * x may be a float or a fixed vector of floats; the result has its type. fma: the target has fused
 * multiply-add, so polynomials use llvm.fma (else mul + add). No instruction carries fast-math flags,
 * so a vectorized copy of a loop gives the same bits as the scalar one.
 *
 * Accuracy, measured over all 2^32 floats against double-precision libm (tests/backend/backend_vecmath.c):
 *   exp: max 1.01 ulp (0.99 without FMA), subnormal results included. Results overflow to +inf above
 *        ~88.72 and round to 0 below ~-103.97; exp(+-inf) = +inf / 0, exp(NaN) = NaN.
 *   log: max 0.83 ulp over all positive floats, subnormals included. log(+-0) = -inf, log(x < 0) = NaN,
 *        log(+inf) = +inf, log(NaN) = NaN.
 *   pow: at most 0.500 ulp from the exact |a|^e (measured for x in [0.5, 1e6] and e = 3, 0.5,
 *        -1.7; the double computation is good to ~1e-13 relative wherever the result is a finite float).
 *   sin, cos: absolute error at most 1.76 * 2^-24 (< 1.1e-7) for |x| <= 2^22, measured over all
 *        floats with FMA (without FMA the reduction is exact, and this holds, for |x| <= 12868 only).
 *        |x| > 2^22 (where float spacing is 0.5 and x 2/pi no longer pins the quadrant), +-inf and NaN
 *        give NaN. */
#ifndef EBMC_VECMATH_H
#define EBMC_VECMATH_H

#include <llvm-c/Core.h>

/* Both emit at the builder's insertion point, which must be inside a function of a module. */
LLVMValueRef vecmath_exp(LLVMBuilderRef b, LLVMValueRef x, int fma);
LLVMValueRef vecmath_log(LLVMBuilderRef b, LLVMValueRef x, int fma);
LLVMValueRef vecmath_sin(LLVMBuilderRef b, LLVMValueRef x, int fma);
LLVMValueRef vecmath_cos(LLVMBuilderRef b, LLVMValueRef x, int fma);
/* |a|^e for float a and e (C's pow's magnitude; the caller applies the sign of a negative base and the
 * cases C defines as 1), computed in double and rounded once. */
LLVMValueRef vecmath_pow(LLVMBuilderRef b, LLVMValueRef a, LLVMValueRef e, int fma);

#endif
