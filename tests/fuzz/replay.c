/* replay: runs a fuzz target's LLVMFuzzerTestOneInput on every file of the folders given (its seed
 * corpus and the inputs past fuzzing found), so the normal test suite keeps every finding fixed. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    int n = 0;
    for (int a = 1; a < argc; a++) {
        DIR *d = opendir(argv[a]);
        if (!d) {
            fprintf(stderr, "replay: %s: no such folder\n", argv[a]);
            return 1;
        }
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.') continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[a], e->d_name);
            FILE *f = fopen(path, "rb");
            if (!f) continue;
            fseek(f, 0, SEEK_END);
            long len = ftell(f);
            rewind(f);
            uint8_t *buf = malloc((size_t)len + 1);
            size_t got = buf ? fread(buf, 1, (size_t)len, f) : 0;
            fclose(f);
            LLVMFuzzerTestOneInput(buf, got);
            free(buf);
            n++;
        }
        closedir(d);
    }
    fprintf(stderr, "replayed %d inputs\n", n);
    return n > 0 ? 0 : 1;
}
