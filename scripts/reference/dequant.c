// Prints the first COUNT elements of a GGUF tensor, dequantized by ggml
// itself (ggml_get_type_traits(type)->to_float), one value per line.
// It is the reference the Swift dequantizer is checked against.
//
//   dequant MODEL.gguf TENSOR_NAME COUNT
//
// COUNT is rounded up to whole quantization blocks for reading; only the
// first COUNT values are printed, with %.9g (exact for a float).
#include <stdio.h>
#include <stdlib.h>

#include "ggml.h"
#include "gguf.h"

int main(int argc, char ** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL.gguf TENSOR_NAME COUNT\n", argv[0]);
        return 2;
    }
    const char * path = argv[1];
    const char * name = argv[2];
    long long count = atoll(argv[3]);

    // no_alloc: read only the header; tensor bytes are read below.
    struct gguf_init_params params = { /*no_alloc =*/ true, /*ctx =*/ NULL };
    struct gguf_context * ctx = gguf_init_from_file(path, params);
    if (!ctx) { fprintf(stderr, "cannot read %s\n", path); return 1; }

    int64_t id = gguf_find_tensor(ctx, name);
    if (id < 0) { fprintf(stderr, "no tensor %s\n", name); return 1; }

    enum ggml_type type = gguf_get_tensor_type(ctx, id);
    const struct ggml_type_traits * traits = ggml_get_type_traits(type);
    const int64_t * ne = gguf_get_tensor_ne(ctx, id);
    int64_t total = ne[0] * ne[1] * ne[2] * ne[3];
    if (count <= 0 || count > total) count = total;

    int64_t block = traits->blck_size;
    int64_t blocks = (count + block - 1) / block;
    int64_t padded = blocks * block;
    size_t nbytes = (size_t) blocks * traits->type_size;

    void * raw = malloc(nbytes);
    float * out = malloc(sizeof(float) * (size_t) padded);
    FILE * f = fopen(path, "rb");
    if (!f || !raw || !out) { fprintf(stderr, "out of memory or cannot open\n"); return 1; }
    long long offset = (long long) gguf_get_data_offset(ctx) + (long long) gguf_get_tensor_offset(ctx, id);
    if (fseeko(f, offset, SEEK_SET) != 0 || fread(raw, 1, nbytes, f) != nbytes) {
        fprintf(stderr, "cannot read tensor data\n");
        return 1;
    }
    fclose(f);

    if (type == GGML_TYPE_F32) {
        // F32 has no to_float; the bytes are the values.
        for (int64_t i = 0; i < padded; i++) out[i] = ((const float *) raw)[i];
    } else if (traits->to_float) {
        traits->to_float(raw, out, padded);
    } else {
        fprintf(stderr, "type %s has no to_float\n", traits->type_name);
        return 1;
    }

    printf("# %s %s %lld\n", name, traits->type_name, count);
    for (int64_t i = 0; i < count; i++) printf("%.9g\n", out[i]);

    free(raw);
    free(out);
    gguf_free(ctx);
    return 0;
}
