/* write_two_classes DIR SIDE N_TRAIN N_TEST: the labelled IDX image set of two_classes.h into DIR, for the
 * CLI tests. */
#include "two_classes.h"

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: write_two_classes DIR SIDE N_TRAIN N_TEST\n");
        return 2;
    }
    int side = atoi(argv[2]), n_train = atoi(argv[3]), n_test = atoi(argv[4]);
    if (side < 2 || side > 256 || n_train < 1 || n_test < 1) {
        fprintf(stderr, "write_two_classes: SIDE in 2..256, N_TRAIN and N_TEST >= 1\n");
        return 2;
    }
    if (write_two_classes(argv[1], side, n_train, n_test) != 0) {
        fprintf(stderr, "write_two_classes: %s: cannot write\n", argv[1]);
        return 1;
    }
    return 0;
}
