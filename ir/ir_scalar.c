/* ir_scalar.c: what each elementwise op means on one number, in double precision. The reference
 * interpreter and constant folding both use these definitions, so a folded constant is exactly the
 * value the interpreter would compute. The JIT's float versions (backend/codegen.c) are tested
 * against them. */
#include <math.h>

#include "ir.h"

/* Overflow-free logistic: exp() only ever sees a non-positive argument. */
static double sigmoid(double x) {
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

double ir_scalar_unary(enum ir_op op, double x) {
    switch (op) {
    case IR_NEG: return -x;
    case IR_EXP: return exp(x);
    case IR_LOG: return log(x);
    case IR_TANH: return tanh(x);
    case IR_SIGMOID: return sigmoid(x);
    case IR_SILU: return x * sigmoid(x);
    case IR_SOFTPLUS: return fmax(x, 0.0) + log1p(exp(-fabs(x))); /* log(1 + e^x) without overflow */
    case IR_RELU: return x > 0 ? x : 0.0;
    case IR_STEP: return x > 0 ? 1.0 : 0.0;
    case IR_SQUARE: return x * x;
    case IR_SQRT: return sqrt(x);
    case IR_STOP_GRAD: return x; /* identity forward; only autodiff treats it specially */
    default: return NAN;         /* unreachable: callers pass unary ops only */
    }
}

double ir_scalar_binary(enum ir_op op, double a, double b) {
    switch (op) {
    case IR_ADD: return a + b;
    case IR_SUB: return a - b;
    case IR_MUL: return a * b;
    case IR_DIV: return a / b;
    default: return NAN; /* unreachable: callers pass binary ops only */
    }
}

