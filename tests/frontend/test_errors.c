/* test_errors.c: rejected programs. Each case is a source and the exact first line of diagnostics;
 * a few also check the source line and caret that follow. */
#include "fe_test_util.h"
#include "test.h"

/* Lines 1-2 declare parameters; energy bodies built with E() start on line 4. */
#define P "param W1: [2, 128] = xavier()\nparam b1: [128] = zeros()\n"
#define E(body) P "energy(x: [B, 2]) {\n" body "}\n"
#define OK_ENERGY "energy(x: [B, 2]) { return sum(x @ W1 + b1, 1) }\n"

static const struct {
    const char *source, *first_line;
} cases[] = {
    /* ---- lexer ---- */
    {E("  return $\n"), "t.ebm:4:10: error: unexpected character '$'"},
    {P OK_ENERGY "train {\n  data = \"rings\n}\n", "t.ebm:5:10: error: unterminated string; add the closing '\"' on the same line"},
    {E("  return sum(2x, 1)\n"), "t.ebm:4:14: error: invalid suffix 'x' on number '2'"},
    {E("  return sum(x * 1e, 1)\n"), "t.ebm:4:18: error: malformed number '1e': the exponent needs digits, as in 1e-3"},
    {E("  return sum(x * 1e999, 1)\n"), "t.ebm:4:18: error: number '1e999' is too large"},
    {E("  return sum(x * 1e-999, 1)\n"), "t.ebm:4:18: error: number '1e-999' is too small: it would be 0 (the smallest float is about 1.4e-45)"},
    {E("  return sum(x * 0.5e-46, 1)\n"), "t.ebm:4:18: error: number '0.5e-46' is too small: it would be 0 (the smallest float is about 1.4e-45)"},
    {E("  return sum(x ^ 2, 1)\n"), "t.ebm:4:16: error: unexpected character '^'; there is no power operator: use square(x) or x * x"},
    {E("  return sum(x \xff 2, 1)\n"), "t.ebm:4:16: error: unexpected byte 0xff"},
    {E("  \xce\xbb = x\n"), "t.ebm:4:3: error: unexpected character '\xce\xbb'"},
    {E("  return sum(x\x01, 1)\n"), "t.ebm:4:15: error: unexpected control byte 0x01"},
    /* ---- syntax ---- */
    {E("  h = silu(x @ W1 + b1\n  return sum(h, 1)\n"), "t.ebm:4:23: error: expected ')' to close '(' at 4:11"},
    {E("  return sum((x @ W1 + b1, 1)\n"), "t.ebm:4:26: error: expected ')' to close '(' at 4:14"},
    {"param W1: [2, 128 = xavier()\n", "t.ebm:1:19: error: expected ']' to close '[' at 1:11"},
    {P "energy(x: [B, 2]) {\n  return sum(x @ W1 + b1, 1)\n", "t.ebm:4:29: error: expected '}' to close '{' at 3:19"},
    {E("  return sum(x @ W1 + , 1)\n"), "t.ebm:4:23: error: expected an expression; got ','"},
    {E("  return\n"), "t.ebm:4:9: error: expected an expression; got '}'"},
    {"parm W1: [2, 128] = xavier()\n", "t.ebm:1:1: error: unknown item 'parm'; did you mean 'param'?"},
    {P "h = x @ W1\n", "t.ebm:3:1: error: expected 'param', 'def', 'energy' or 'train'; got 'h' (statements belong inside energy(...) { ... } or a def)"},
    {P "energy(x: [B, 2], x: [B]) { return sum(x, 1) }\n", "t.ebm:3:19: error: energy has two arguments named 'x'"},
    {P "energy(x: [B, 2], t: [3]) { return sum(x, 1) }\n", "t.ebm:3:23: error: the energy argument's shape must start with the batch size B, as in [B, 2]"},
    {P "energy(x: [B, 2], a: [B], b: [B], c: [B], d: [B]) { return sum(x, 1) }\n", "t.ebm:3:43: error: energy takes at most 4 arguments"},
    {P "energy(x: [B, 2], W1: [B]) { return sum(x, 1) }\n", "t.ebm:3:19: error: the argument 'W1' has the same name as a parameter"},
    {P "energy(x: [B, 2], t) { return sum(x, 1) }\n", "t.ebm:3:20: error: expected ':' and the argument's shape, as in x: [B, 2]; got ')'"},
    {P "energy(x: [B, 2], t: [B]) { return sum(x, 1) + t * range(2) }\n", "t.ebm:3:50: error: '*' needs shapes that broadcast; got [B] * [2]"},
    {E("  return sum(x * range(0), 1)\n"), "t.ebm:4:24: error: length 0 is out of range; use 1..16777216"},
    {E("  return sum(x * range(2, 3), 1)\n"), "t.ebm:4:18: error: range takes 1 argument, as in range(16); got 2"},
    {E("  return sum(x * range(x), 1)\n"), "t.ebm:4:24: error: the length of range must be an integer constant"},
    {"param W1 [2, 128] = xavier()\n", "t.ebm:1:10: error: expected ':' and a shape after the parameter name; got '['"},
    {"param W1: [2, 128] = xavier\n" OK_ENERGY, "t.ebm:1:28: error: expected '(' after initializer 'xavier', as in xavier()"},
    {E("  h = silu(x)\n  silu(h)\n  return sum(h, 1)\n"), "t.ebm:5:7: error: expected '=' after 'silu'; a statement is 'name = expression' or 'return expression'"},
    {E("  return sum([B, 2], 1)\n"), "t.ebm:4:14: error: a shape list [...] is only allowed as the second argument of reshape"},
    {E("  h = [1, 2]\n  return sum(x, 1)\n"), "t.ebm:4:7: error: a shape list [...] is only allowed as the second argument of reshape"},
    {E("  h = x,\n  return sum(x, 1)\n"), "t.ebm:4:8: error: expected a statement ('name = expression' or 'return expression'); got ','"},
    {P OK_ENERGY "train {\n  lr 1e-3\n}\n", "t.ebm:5:6: error: expected '=' after setting name 'lr'; got number '1e-3'"},
    {P OK_ENERGY "train {\n  lr = 1e-3 steps = 10\n}\n", "t.ebm:5:13: error: expected a new line or ';' after the value of 'lr'; got 'steps'"},
    {P OK_ENERGY "train {\n  lr =\n  steps = 10\n}\n", "t.ebm:5:7: error: expected a value after '=' on the same line"},
    {P OK_ENERGY "train {\n  lr = (1)\n}\n", "t.ebm:5:8: error: expected a value after '='; got '('"},
    {P OK_ENERGY "train {\n  = 3\n}\n", "t.ebm:5:3: error: expected a setting (key = value); got '='"},
    {P "energy(x: [B, 2]) { return sum(x @ W1, 1) ", "t.ebm:3:42: error: expected '}' to close '{' at 3:19"},
    {E("  return sum(x, 1,)\n"), "t.ebm:4:19: error: expected an expression; got ')'"},
    {E("  return sum(x 1)\n"), "t.ebm:4:16: error: expected ')' to close '(' at 4:13"},
    /* ---- declarations ---- */
    {P "param W1: [3] = zeros()\n" OK_ENERGY, "t.ebm:3:7: error: duplicate parameter 'W1'; the first declaration is at 1:7"},
    {"param W1: [2, 128] = xaviar()\n" OK_ENERGY, "t.ebm:1:22: error: unknown initializer 'xaviar'; did you mean 'xavier'?"},
    {"param W1: [2, 128] = glorot()\n" OK_ENERGY, "t.ebm:1:22: error: unknown initializer 'glorot'; use zeros(), ones(), normal(std), uniform(lo, hi), xavier() or kaiming_uniform()"},
    {"param W1: [2, 128] = normal()\n" OK_ENERGY, "t.ebm:1:22: error: normal takes 1 argument, as in normal(std); got 0"},
    {"param W1: [2, 128] = zeros(1)\n" OK_ENERGY, "t.ebm:1:22: error: zeros takes no arguments; got 1"},
    {"param W1: [2, 128] = uniform(0.1)\n" OK_ENERGY, "t.ebm:1:22: error: uniform takes 2 arguments, as in uniform(lo, hi); got 1"},
    {"param W1: [2, 128] = normal(-1)\n" OK_ENERGY, "t.ebm:1:22: error: normal(std) needs std > 0; got -1"},
    {"param W1: [2, 128] = uniform(1, -1)\n" OK_ENERGY, "t.ebm:1:22: error: uniform(lo, hi) needs lo < hi; got uniform(1, -1)"},
    {"param W1: [2, 128] = normal(x)\n", "t.ebm:1:29: error: expected a number; got 'x'"},
    {"param W1: [2, 128] = normal(0.1, )\n", "t.ebm:1:34: error: expected a number; got ')'"},
    {"param W1: [2, 128] = normal(0.1 0.2)\n", "t.ebm:1:33: error: expected ')' to close '(' at 1:28"},
    {"param W1: [0, 128] = xavier()\n", "t.ebm:1:12: error: dimensions must be positive integers; got 0"},
    {"param W1: [2.5, 128] = xavier()\n", "t.ebm:1:12: error: dimensions must be positive integers; got 2.5"},
    {"param W1: [-2, 128] = xavier()\n", "t.ebm:1:12: error: dimensions must be positive integers; got -2"},
    {"param W1: [B, 128] = xavier()\n", "t.ebm:1:12: error: parameter shapes are fixed; the batch size B belongs in the energy argument and in reshape"},
    {"param W1: [N, 128] = xavier()\n", "t.ebm:1:12: error: unknown dimension 'N'; dimensions are positive integers"},
    {"param W1: [2, 2, 2, 2, 2] = xavier()\n", "t.ebm:1:24: error: a shape has at most 4 dimensions"},
    {"param W1: [] = zeros()\n", "t.ebm:1:12: error: a shape needs at least one dimension"},
    {"param W1: [99999999999, 128] = zeros()\n", "t.ebm:1:12: error: dimension 99999999999 is too large"},
    {"param W1: [65536, 65536, 2] = zeros()\n", "t.ebm:1:26: error: this shape has more than 2^32 elements"},
    {"param B: [2] = zeros()\n", "t.ebm:1:7: error: 'B' is the batch size and cannot name a parameter"},
    {"param a_very_long_parameter_name_that_is_much_too_long_for_ebmc: [2] = zeros()\n",
     "t.ebm:1:7: error: parameter name 'a_very_long_parameter_name_that_is_much_too_long_for_ebmc' is too long (at most 47 characters)"},
    {P "energy(x: [2, B]) { return sum(x, 1) }\n", "t.ebm:3:12: error: the energy argument's shape must start with the batch size B, as in [B, 2]"},
    {P "energy(x: [B, B]) { return sum(x, 1) }\n", "t.ebm:3:15: error: B may only be the first dimension of the energy argument"},
    {P OK_ENERGY OK_ENERGY, "t.ebm:4:1: error: energy is defined twice; the first definition is at 3:1"},
    {P OK_ENERGY "train { lr = 1 }\ntrain { lr = 2 }\n", "t.ebm:5:1: error: train is defined twice; the first block is at 4:1"},
    {P OK_ENERGY "train {\n  lr = 1e-3\n  steps = 10\n  lr = 1e-4\n}\n", "t.ebm:7:3: error: duplicate setting 'lr'; it is first set at 5:3"},
    {P "train { lr = 1 }\n", "t.ebm:1:1: error: the model has no energy function; add one, as in energy(x: [B, 2]) { ... return e }"},
    {"", "t.ebm:1:1: error: the model has no energy function; add one, as in energy(x: [B, 2]) { ... return e }"},
    {E("  h = x @ W1\n"), "t.ebm:5:1: error: energy must end with 'return <expression>'"},
    {E("  return sum(x, 1)\n  h = x\n"), "t.ebm:5:3: error: unreachable statement after 'return'"},
    /* ---- names ---- */
    {E("  h = silu(x @ W1 + b1)\n  return sum(g, 1)\n"), "t.ebm:5:14: error: 'g' is not defined"},
    {E("  hidden = silu(x @ W1 + b1)\n  return sum(hiden, 1)\n"), "t.ebm:5:14: error: 'hiden' is not defined; did you mean 'hidden'?"},
    {E("  return sum(W2 @ x, 1)\n"), "t.ebm:4:14: error: 'W2' is not defined; did you mean 'W1'?"},
    {E("  g = h * 2\n  h = x @ W1\n  return sum(g, 1)\n"), "t.ebm:4:7: error: 'h' is used before it is assigned (at 5:3)"},
    {E("  h = silo(x @ W1 + b1)\n  return sum(h, 1)\n"), "t.ebm:4:7: error: unknown function 'silo'; did you mean 'silu'?"},
    {E("  h = gelo(x @ W1 + b1)\n  return sum(h, 1)\n"), "t.ebm:4:7: error: unknown function 'gelo'; did you mean 'gelu'?"},
    {E("  h = softmax(x @ W1 + b1)\n  return sum(h, 1)\n"), "t.ebm:4:7: error: unknown function 'softmax'"},
    {E("  return sum(W1(x), 1)\n"), "t.ebm:4:14: error: 'W1' is a parameter, not a function"},
    {E("  return sum(matmul(x, W1), 1)\n"), "t.ebm:4:14: error: unknown function 'matmul'; use the @ operator, as in a @ b"},
    {E("  return sum(xavier(), 1)\n"), "t.ebm:4:14: error: 'xavier' initializes parameters; it cannot be used inside energy"},
    {E("  W1 = x\n  return sum(x, 1)\n"), "t.ebm:4:3: error: cannot assign to parameter 'W1'"},
    {E("  return sum(x * B, 1)\n"), "t.ebm:4:18: error: B (the batch size) can only appear in shapes"},
    {E("  return sum(silu, 1)\n"), "t.ebm:4:14: error: 'silu' is a function; call it as silu(...)"},
    {P "energy(W1: [B, 2]) { return sum(W1, 1) }\n", "t.ebm:3:8: error: the argument 'W1' has the same name as a parameter"},
    /* ---- shapes ---- */
    {P "energy(x: [B, 3]) {\n  h = x @ W1\n  return sum(h, 1)\n}\n", "t.ebm:4:9: error: matmul needs [M, K] @ [K, N]; got [B, 3] @ [2, 128]"},
    {E("  return sum(b1 @ W1, 0)\n"), "t.ebm:4:17: error: matmul needs [M, K] @ [K, N]; got [128] @ [2, 128]"},
    {E("  h = reshape(x, [B, 1, 2])\n  return sum(h @ reshape(W1, [2, 2, 64]), 1, 2)\n"), "t.ebm:5:16: error: batched matmul needs [b, M, K] @ [b, K, N] or [b, M, K] @ [K, N]; got [B, 1, 2] @ [2, 2, 64]"},
    {E("  return sum(x @ 2, 1)\n"), "t.ebm:4:16: error: matmul needs two tensors; the right operand is a number (use '*' to scale)"},
    {E("  return sum(x + b1, 1)\n"), "t.ebm:4:16: error: '+' needs shapes that broadcast; got [B, 2] + [128]"},
    {E("  return sum(x * W1, 1)\n"), "t.ebm:4:16: error: '*' needs shapes that broadcast; got [B, 2] * [2, 128]"},
    {E("  h = silu(x @ W1 + b1)\n  return h\n"), "t.ebm:5:10: error: energy must return shape [B] or [B, 1]; got [B, 128]"},
    {E("  return 3\n"), "t.ebm:4:10: error: energy must return shape [B] or [B, 1]; got a number"},
    {E("  return sum(x)\n"), "t.ebm:4:10: error: sum of every axis reduces over the batch axis B too, which mixes samples: an energy must be a function of one sample"},
    {E("  return sum(x, 2)\n"), "t.ebm:4:17: error: axis 2 is out of range for shape [B, 2]; use 0..1 or -2..-1"},
    {E("  return sum(x, 0.5)\n"), "t.ebm:4:17: error: the axis of sum must be an integer constant"},
    {E("  return mean(x, x)\n"), "t.ebm:4:18: error: the axis of mean must be an integer constant"},
    {E("  return sum(reshape(x, [B, 3]), 1)\n"), "t.ebm:4:14: error: cannot reshape [B, 2] to [B, 3]: the element counts differ"},
    {E("  return sum(reshape(x, [2, 2]), 1)\n"), "t.ebm:4:14: error: cannot reshape [B, 2] to [2, 2]: the element counts differ"},
    {E("  return sum(reshape(x, [B, -1, 3]), 1, 2)\n"), "t.ebm:4:14: error: cannot reshape [B, 2] with a -1 (inferred) dimension: the other dimensions' product 3 does not divide its 2"},
    {E("  return sum(reshape(x, [-1, 2]), 1)\n"), "t.ebm:4:14: error: cannot reshape [B, 2] with a -1 (inferred) dimension: the shape lists B 0 time(s), the tensor has it 1"},
    {E("  return sum(reshape(x, [B, -1, -1]), 1, 2)\n"), "t.ebm:4:33: error: only one dimension of a reshape can be -1 (inferred)"},
    {E("  return sum(reshape(x, [B, -2]), 1)\n"), "t.ebm:4:29: error: dimensions must be positive integers (or -1 in reshape: inferred); got -2"},
    {E("  return sum(reshape(x, 4), 1)\n"), "t.ebm:4:25: error: the second argument of reshape must be a shape list, as in [B, 4]"},
    {E("  return sum(reshape(x), 1)\n"), "t.ebm:4:14: error: reshape takes 2 arguments, as in reshape(e, [B, 4]); got 1"},
    {E("  return sum(reshape(x, [B, 0]), 1)\n"), "t.ebm:4:29: error: dimensions must be positive integers; got 0"},
    {E("  return sum(silu(x, 1), 1)\n"), "t.ebm:4:14: error: silu takes 1 argument; got 2"},
    {E("  return sum(x, 1, 2)\n"), "t.ebm:4:20: error: axis 2 is out of range for shape [B, 2]; use 0..1 or -2..-1"},
    {E("  return sum(x, 1, -1)\n"), "t.ebm:4:20: error: axis 1 is listed twice"},
    {E("  return sum(x, 0, 1, 0)\n"), "t.ebm:4:23: error: sum of a tensor of rank 2 takes at most 2 axes"},
    {E("  return sum()\n"), "t.ebm:4:10: error: sum takes a tensor and optional axes, as in sum(e) or sum(e, axis, ...); got 0 arguments"},
    {E("  return logsumexp(x, 0.5)\n"), "t.ebm:4:23: error: the axis of logsumexp must be an integer constant"},
    {E("  return sum(x * log(0), 1)\n"), "t.ebm:4:18: error: log(0) is not a finite number"},
    {E("  return sum(leaky_relu(x, x), 1)\n"), "t.ebm:4:28: error: the slope of leaky_relu must be a number constant"},
    {E("  return sum(elu(x, 1, 2), 1)\n"), "t.ebm:4:14: error: elu takes 1 or 2 arguments, as in elu(e) or elu(e, alpha); got 3"},
    {E("  return sum(pow(x), 1)\n"), "t.ebm:4:14: error: pow takes 2 arguments; got 1"},
    {E("  return sum(where(x, x), 1)\n"), "t.ebm:4:14: error: where takes 3 arguments; got 2"},
    {E("  return sum(maximum(x, b1), 1)\n"), "t.ebm:4:14: error: maximum needs shapes that broadcast; got [B, 2] and [128]"},
    {E("  return sum(where(x, b1, 1), 1)\n"), "t.ebm:4:14: error: where needs shapes that broadcast; got [B, 2], [128] and a number"},
    {E("  return sum(x * pow(2, 2000), 1)\n"), "t.ebm:4:18: error: pow(2, 2000) is not a finite number"},
    {E("  return sum(transpose(reshape(x, [B, 1, 2])), 1)\n"), "t.ebm:4:14: error: transpose(e) needs a rank-2 tensor; got [B, 1, 2] (use transpose(e, axis, axis))"},
    {E("  return sum(permute(x, 0), 1)\n"), "t.ebm:4:14: error: permute of [B, 2] takes 2 axes; got 1"},
    {E("  return sum(permute(x, 1, 1), 1)\n"), "t.ebm:4:28: error: axis 1 is listed twice"},
    {E("  return sum(slice(x, 1, 1, 1), 1)\n"), "t.ebm:4:26: error: slice needs start < stop; got 1:1 on an axis of size 2"},
    {E("  return sum(slice(x, 1, 0, 3), 1)\n"), "t.ebm:4:29: error: stop 3 is out of range; use -2..2"},
    {E("  return sum(slice(x, 0, 0, 1), 1)\n"), "t.ebm:4:23: error: cannot slice along the batch axis B"},
    {E("  return sum(slice(x, 1, 0, 2, 0), 1)\n"), "t.ebm:4:32: error: step 0 is out of range; use 1..2147483648"},
    {E("  return sum(pad(x, 1, 1), 1)\n"), "t.ebm:4:14: error: pad takes 4 arguments, as in pad(e, axis, before, after); got 3"},
    {E("  return sum(pad(x, 1, -1, 0), 1)\n"), "t.ebm:4:24: error: padding -1 is out of range; use 0..2147483648"},
    {E("  return sum(concat(x, 1), 1)\n"), "t.ebm:4:14: error: concat takes 2 or more tensors and an axis, as in concat(a, b, 1); got 2 arguments"},
    {E("  return sum(concat(x, reshape(x, [B, 1, 2]), 1), 1)\n"), "t.ebm:4:24: error: concat along axis 1 needs shapes that agree on the other axes; got [B, 2] and [B, 1, 2]"},
    {E("  return sum(concat(x, x, 0), 1)\n"), "t.ebm:4:27: error: cannot concat along the batch axis B"},
    {E("  return sum(concat(W1, transpose(x), 1), 0)\n"), "t.ebm:4:25: error: cannot concat along the batch axis B"},
    /* ---- an energy is a function of one sample: nothing may mix the batch ---- */
    {E("  return sum(x - mean(x, 0), 1)\n"), "t.ebm:4:26: error: mean reduces over the batch axis B, which mixes samples: an energy must be a function of one sample"},
    {E("  return sum(x, 1) - max(sum(x, -1), -1)\n"), "t.ebm:4:38: error: max reduces over the batch axis B, which mixes samples: an energy must be a function of one sample"},
    {E("  return sum(x, 1) + logsumexp(x)\n"), "t.ebm:4:22: error: logsumexp of every axis reduces over the batch axis B too, which mixes samples: an energy must be a function of one sample"},
    {E("  h = transpose(x)\n  return sum(reshape(h, [B, 2]), 1)\n"), "t.ebm:5:14: error: reshape of [2, B] to [B, 2] moves elements across the batch axis B, which mixes samples: an energy must be a function of one sample"},
    {E("  return sum(x @ (transpose(x) @ x), 1)\n"), "t.ebm:4:32: error: matmul sums over the batch axis B, which mixes samples: an energy must be a function of one sample"},
    {E("  return sum(concat(x, x, 0.5), 1)\n"), "t.ebm:4:27: error: the axis of concat must be an integer constant"},
    {E("  return sum(conv2d(x, W1), 1)\n"), "t.ebm:4:21: error: the input of conv2d must be [N, C, H, W] with fixed C, H, W; got [B, 2]"},
    {E("  h = reshape(x, [B, 2, 1, 1])\n  return sum(conv2d(h, reshape(W1, [128, 2, 1, 1]), b1, 1, 2, 3), 1)\n"), "t.ebm:5:14: error: conv2d takes the forms conv2d(x, w), conv2d(x, w, b), conv2d(x, w, stride, padding) or conv2d(x, w, b, stride, padding); got 6 arguments"},
    {E("  h = reshape(x, [B, 1, 2, 1])\n  return sum(conv2d(h, reshape(W1, [128, 2, 1, 1])), 1)\n"), "t.ebm:5:14: error: conv2d: the input's 1 channels do not match the weight's 2: [B, 1, 2, 1] and [128, 2, 1, 1]"},
    {E("  h = reshape(x, [B, 1, 2, 1])\n  return sum(conv2d(h, reshape(W1, [16, 1, 4, 4])), 1)\n"), "t.ebm:5:14: error: conv2d: the kernel of [16, 1, 4, 4] is larger than the input [B, 1, 2, 1] padded by 0"},
    {E("  h = reshape(x, [B, 2, 1, 1])\n  return sum(conv2d(h, reshape(W1, [128, 2, 1, 1]), b1, 0, 0), 1)\n"), "t.ebm:5:57: error: stride 0 is out of range; use 1..65536"},
    {E("  h = reshape(x, [B, 1, 2, 1])\n  return sum(avg_pool2d(h, 2), 1)\n"), "t.ebm:5:28: error: window 2 is out of range; use 1..1"},
    {E("  return sum(group_norm(x, 3), 1)\n"), "t.ebm:4:28: error: number of groups 3 is out of range; use 1..2"},
    {E("  return sum(group_norm(x, 2, b1, b1), 1)\n"), "t.ebm:4:31: error: gamma must have 2 elements, one per normalized channel; got 128"},
    {E("  return sum(layer_norm(x, b1), 1)\n"), "t.ebm:4:14: error: layer_norm takes the forms layer_norm(x) or layer_norm(x, gamma, beta); got 2 arguments"},
    {E("  return sum(x * (1 / 0), 1)\n"), "t.ebm:4:21: error: division by zero"},
    {E("  return sum(x / (2 - 2), 1)\n"), "t.ebm:4:16: error: division by zero"},
    {E("  return sum(x * (1e300 * 1e300), 1)\n"), "t.ebm:4:25: error: 1e+300 * 1e+300 is not a finite number"},
    {E("  return sum(2, 1)\n"), "t.ebm:4:14: error: sum needs a tensor; got a number"},
    {E("  return sum(silu(2) @ W1, 1)\n"), "t.ebm:4:22: error: matmul needs two tensors; the left operand is a number (use '*' to scale)"},
    {"param a: [65536, 1] = zeros()\nparam b: [131072] = zeros()\nenergy(x: [B, 2]) { return sum(a + b) }\n",
     "t.ebm:3:34: error: the result, of shape [65536, 131072], has more than 2^32 elements"},
    /* ---- def ---- */
    {E("  return sum(f(x, x), 1)\n") "def f(a) { return a }\n", "t.ebm:4:14: error: f takes 1 argument; got 2"},
    {E("  return sum(f(x), 1)\n") "def f(a) {\n  return a * z\n}\n", "t.ebm:7:14: error: 'z' is not defined"},
    {E("  return sum(f(x), 1)\n") "def f(a) { return f(a) }\n", "t.ebm:6:19: error: 'f' calls itself (directly or through other functions); functions are inlined, so they cannot be recursive"},
    {E("  return sum(f(x), 1)\n") "def f(a) { return g(a) }\ndef g(a) { return 2 * f(a) }\n", "t.ebm:7:23: error: 'f' calls itself (directly or through other functions); functions are inlined, so they cannot be recursive"},
    {E("  return sum(relu(x), 1)\n") "def relu(a) { return a }\n", "t.ebm:6:5: error: 'relu' is a builtin function; give the function another name"},
    {E("  return sum(f(x), 1)\n") "def f(a) { return a }\ndef f(b) { return b }\n", "t.ebm:7:5: error: function 'f' is defined twice; the first definition is at 6:5"},
    {E("  return sum(f(x), 1)\n") "def f(a) { b = a }\n", "t.ebm:6:18: error: function 'f' must end with 'return <expression>'"},
    {E("  return sum(blok(x), 1)\n") "def block(a) { return a }\n", "t.ebm:4:14: error: unknown function 'blok'; did you mean 'block'?"},
    {E("  return sum(f(x), 1)\n") "def f(W1) { return W1 }\n", "t.ebm:6:7: error: the argument 'W1' of 'f' has the same name as a parameter"},
    {E("  return sum(f + 1, 1)\n") "def f(a) { return a }\n", "t.ebm:4:14: error: 'f' is a function; call it as f(...)"},
    {E("  return sum(f(x), 1)\n") "def f(a, a) { return a }\n", "t.ebm:6:10: error: argument 'a' of 'f' is listed twice"},
    {E("  return sum(f(x), 1)\n") "def f(a) { return a @ b1 }\n", "t.ebm:6:21: error: matmul needs [M, K] @ [K, N]; got [B, 2] @ [128]"},
    {E("  return f(x)\n") "def f(a) { return a }\n", "t.ebm:4:10: error: energy must return shape [B] or [B, 1]; got [B, 2]"},
    {"def (a) { return a }\n", "t.ebm:1:5: error: expected the name of the function after 'def', as in def f(a, b) { ... }; got '('"},
    /* ---- nesting ---- */
    {E("  return sum(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("
       "(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("
       "(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((x"),
     "t.ebm:4:269: error: expression nested too deeply (more than 256 levels)"},
};

/* Every case fails to parse, and its first diagnostic line is exactly the expected one. */
static void test_table(void) {
    int n = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < n; i++) {
        char *diag, line[512];
        struct fe_model *m = parse_capture(cases[i].source, &diag);
        CHECK_MSG(m == NULL, "case %d was accepted", i);
        nth_line(diag, 0, line, sizeof line);
        CHECK_MSG(strcmp(line, cases[i].first_line) == 0, "case %d:\n  got      %s\n  expected %s", i, line,
                  cases[i].first_line);
        fe_model_free(m);
        free(diag);
    }
    fprintf(stderr, "%d rejected programs\n", n);
}

static void check_diag(const char *source, const char *expected) {
    char *diag;
    struct fe_model *m = parse_capture(source, &diag);
    CHECK(m == NULL);
    CHECK_MSG(diag && strcmp(diag, expected) == 0, "got:\n%s\nexpected:\n%s", diag ? diag : "(null)", expected);
    fe_model_free(m);
    free(diag);
}

/* The full message: location line, source line, caret under the column (tabs kept for alignment). */
static void test_caret(void) {
    check_diag(E("  h = silo(x @ W1 + b1)\n  return sum(h, 1)\n"),
               "t.ebm:4:7: error: unknown function 'silo'; did you mean 'silu'?\n"
               "  h = silo(x @ W1 + b1)\n"
               "      ^\n");
    check_diag(P "energy(x: [B, 3]) {\n\th = x @ W1\n\treturn sum(h, 1)\n}\n",
               "t.ebm:4:8: error: matmul needs [M, K] @ [K, N]; got [B, 3] @ [2, 128]\n"
               "\th = x @ W1\n"
               "\t      ^\n");
    /* A missing ')' is pointed at the end of its line, not at the next line's first token. */
    check_diag(E("  h = silu(x @ W1 + b1\n  return sum(h, 1)\n"),
               "t.ebm:4:23: error: expected ')' to close '(' at 4:11\n"
               "  h = silu(x @ W1 + b1\n"
               "                      ^\n");
    /* Non-ASCII text before the column takes one caret column per character. */
    check_diag(P OK_ENERGY "train {\n  data = \"\xc3\xa9\" x\n}\n",
               "t.ebm:5:15: error: expected a new line or ';' after the value of 'data'; got 'x'\n"
               "  data = \"\xc3\xa9\" x\n"
               "             ^\n");
    /* CRLF line endings: the '\r' is not shown. */
    check_diag("param W1: [2, 128] = xavier()\r\nparam b1: [128] = zeros()\r\nenergy(x: [B, 2]) {\r\n  return h\r\n}\r\n",
               "t.ebm:4:10: error: 'h' is not defined\n"
               "  return h\n"
               "         ^\n");
}

/* Independent errors are all reported (up to a handful), each once. */
static void test_several(void) {
    char *diag, line[256];
    struct fe_model *m = parse_capture("param W1: [2, 128] = xaviar()\nparam W1: [2] = zeros()\n"
                                       "energy(x: [B, 2]) {\n  h = silo(x @ W1)\n  g = h + q\n  return sum(g, 1)\n}\n",
                                       &diag);
    CHECK(m == NULL);
    CHECK(strcmp(nth_line(diag, 0, line, sizeof line), "t.ebm:1:22: error: unknown initializer 'xaviar'; did you mean 'xavier'?") == 0);
    CHECK(strcmp(nth_line(diag, 3, line, sizeof line), "t.ebm:2:7: error: duplicate parameter 'W1'; the first declaration is at 1:7") == 0);
    /* W1 had a bad initializer: its uses are silent, the unknown function and name are not. */
    CHECK(strcmp(nth_line(diag, 6, line, sizeof line), "t.ebm:4:7: error: unknown function 'silo'; did you mean 'silu'?") == 0);
    CHECK(strcmp(nth_line(diag, 9, line, sizeof line), "t.ebm:5:11: error: 'q' is not defined") == 0);
    CHECK(strcmp(nth_line(diag, 12, line, sizeof line), "") == 0);
    fe_model_free(m);
    free(diag);

    /* A flood of errors stops after a handful, with a count. */
    char src[4096] = "";
    for (int i = 0; i < 30; i++) strcat(src, "param W: [0] = zeros()\n");
    m = parse_capture(src, &diag);
    CHECK(m == NULL);
    int lines = 0;
    for (const char *p = diag; p && *p; p++) lines += *p == '\n';
    CHECK_MSG(lines == 8 * 3 + 1, "%d lines", lines);
    CHECK(strstr(diag, "only the first 8 are shown") != NULL);
    fe_model_free(m);
    free(diag);
}

/* fe_parse_file reports a missing file with strerror. */
static void test_missing_file(void) {
    char *diag = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&diag, &len);
    struct fe_model *m = fe_parse_file("/nonexistent/dir/model.ebm", f);
    fclose(f);
    CHECK(m == NULL);
    CHECK_MSG(strcmp(diag, "/nonexistent/dir/model.ebm: cannot open: No such file or directory\n") == 0, "%s", diag);
    free(diag);
}

int main(void) {
    test_table();
    test_caret();
    test_several();
    test_missing_file();
    return test_report();
}
