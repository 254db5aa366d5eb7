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

/* GELU, tanh approximation (ir.h). As (1 + tanh(u)) / 2 = sigmoid(2u), it is written x sigmoid(2u),
 * which does not cancel for x << 0. */
static double gelu(double x) { return x * sigmoid(2 * IR_GELU_K * (x + IR_GELU_C * x * x * x)); }

double ir_scalar_unary(enum ir_op op, double x, double attr) {
    switch (op) {
    case IR_NEG: return -x;
    case IR_EXP: return exp(x);
    case IR_LOG: return log(x);
    case IR_LOG1P: return log1p(x);
    case IR_TANH: return tanh(x);
    case IR_SIGMOID: return sigmoid(x);
    case IR_SILU: return x * sigmoid(x);
    case IR_SOFTPLUS: return fmax(x, 0.0) + log1p(exp(-fabs(x))); /* log(1 + e^x) without overflow */
    /* NaN selects itself (and its gradient, step(NaN) = 1), as in maximum below */
    case IR_RELU: return x > 0 || isnan(x) ? x : 0.0;
    case IR_STEP: return x > 0 || isnan(x) ? 1.0 : 0.0;
    case IR_SQUARE: return x * x;
    case IR_SQRT: return sqrt(x);
    case IR_ABS: return fabs(x);
    case IR_RSQRT: return 1.0 / sqrt(x);
    case IR_LEAKY_RELU: return x > 0 ? x : attr * x;
    case IR_ELU: return x > 0 ? x : attr * expm1(x);
    case IR_GELU: return gelu(x);
    case IR_SIN: return sin(x);
    case IR_COS: return cos(x);
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
    case IR_POW: return pow(a, b);
    /* The tie rule of the gradient follows these selects: the first operand wins ties, and a NaN
     * operand is selected (so the result is NaN if either is). */
    case IR_MAXIMUM: return a >= b || isnan(a) ? a : b;
    case IR_MINIMUM: return a <= b || isnan(a) ? a : b;
    case IR_LT: return a < b ? 1.0 : 0.0;
    case IR_LE: return a <= b ? 1.0 : 0.0;
    case IR_GT: return a > b ? 1.0 : 0.0;
    case IR_GE: return a >= b ? 1.0 : 0.0;
    case IR_EQ: return a == b ? 1.0 : 0.0;
    default: return NAN; /* unreachable: callers pass binary ops only */
    }
}


/* Any nonzero condition, NaN included, picks a. */
double ir_scalar_where(double cond, double a, double b) { return cond != 0 ? a : b; }
