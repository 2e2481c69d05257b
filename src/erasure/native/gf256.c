/*
 * holdfast_gf: the GF(2^8) multiply-accumulate kernel of the Cauchy Reed-Solomon codec
 * (src/erasure/cauchy-codec.ts), as an N-API addon built by node-gyp from binding.gyp at the package root.
 *
 *   mulAdd(coeffs, rows, cols, sources, outputs, length[, copies])
 *     outputs[r][i] = XOR over c of coeffs[r * cols + c] * sources[c][i], for i in [0, length).
 *     Outputs are overwritten (zeroed when cols is 0). Same bytes as mulAddJs in gf256.ts.
 *     copies (optional, at most cols buffers): copies[c][0, length) = sources[c][0, length), copied block
 *     by block right after the block is coded, while the sources are still in cache: this spares the codec
 *     a separate memcpy that would read every source from memory a second time.
 *     No written buffer may overlap any other buffer of the call (RangeError).
 *   backend()          the kernel in use: 'scalar', 'avx2', 'gfni-avx2' or 'gfni-avx512'
 *   backends()         the kernels this CPU can run, slowest first
 *   setBackend(name)   force one (tests and benchmarks); throws if unknown or unsupported. The choice is
 *                      process-wide, shared by every worker thread that loads the addon.
 *
 * The field uses the polynomial 0x11d. Kernels, picked at load time by CPU feature (the best one wins):
 *   scalar       a 256-byte lookup table per coefficient; portable, the only kernel off x86-64
 *   avx2         split-nibble tables: a*x = T_lo[x & 15] ^ T_hi[x >> 4], 32 lookups at once with vpshufb
 *   gfni-avx2    vgf2p8affineqb on ymm: multiplication by a constant a is linear over GF(2), so it is an
 *                8x8 bit matrix applied to every byte; the instruction's own field polynomial (0x11b) only
 *                matters for vgf2p8mulb and the inverse forms, not for the plain affine transform
 *   gfni-avx512  the same on zmm, with AVX-512BW
 * Every kernel computes the same function, so their outputs are byte-identical.
 *
 * Layout of the work (as in ISA-L's dot-product kernels): the outputs are split into groups of at most
 * G_MAX rows whose accumulators stay in registers; for each vector position a group reads every source
 * once, folds it into all its accumulators, and stores each output once. The columns are walked in blocks
 * sized so that the sources of one block stay in L2 while further groups of the same block re-read them.
 * Bytes that do not fill a whole vector at the end go through the scalar kernel.
 *
 * The x86 kernels use per-function target attributes and runtime detection, so the file builds with the
 * compiler's default flags, and builds (scalar only) anywhere else.
 */
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HF_X86 1
#include <immintrin.h>
#else
#define HF_X86 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define HF_ATOMIC_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define HF_ATOMIC_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#else
#define HF_ATOMIC_LOAD(p) (*(p))
#define HF_ATOMIC_STORE(p, v) (*(p) = (v))
#endif

#define MAX_DIM 256

/* ---------------------------------------------------------------------------------------------------- */
/* Field tables, computed once per process.                                                              */

static uint8_t gf_exp[512];
static uint8_t gf_log[256];
/* gf_mul_table[a][b] = a * b. */
static uint8_t gf_mul_table[256][256];
/* nibble_table[a] = { a * x for x in 0..15, a * (x << 4) for x in 0..15 }. */
static uint8_t nibble_table[256][32];
/* affine_table[a]: the 8x8 bit matrix of x -> a * x in vgf2p8affineqb's layout (8 bytes, little-endian). */
static uint8_t affine_table[256][8];

static void init_tables (void) {
  unsigned x = 1;
  for (int i = 0; i < 255; i++) {
    gf_exp[i] = (uint8_t)x;
    gf_log[x] = (uint8_t)i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (int i = 255; i < 512; i++) gf_exp[i] = gf_exp[i - 255];
  for (int a = 0; a < 256; a++) {
    for (int b = 0; b < 256; b++) {
      gf_mul_table[a][b] = (a == 0 || b == 0) ? 0 : gf_exp[gf_log[a] + gf_log[b]];
    }
  }
  for (int a = 0; a < 256; a++) {
    for (int n = 0; n < 16; n++) {
      nibble_table[a][n] = gf_mul_table[a][n];
      nibble_table[a][16 + n] = gf_mul_table[a][n << 4];
    }
    /* Result bit i is the parity of (row & x), where row is byte 7 - i of the matrix: row bit j is set when
     * a * 2^j has bit i set, since a * x = XOR over the set bits j of x of a * 2^j. */
    for (int i = 0; i < 8; i++) {
      uint8_t row = 0;
      for (int j = 0; j < 8; j++) {
        if ((gf_mul_table[a][1 << j] >> i) & 1) row |= (uint8_t)(1 << j);
      }
      affine_table[a][7 - i] = row;
    }
  }
}

/* ---------------------------------------------------------------------------------------------------- */
/* Backends.                                                                                             */

enum { BACKEND_SCALAR, BACKEND_AVX2, BACKEND_GFNI_AVX2, BACKEND_GFNI_AVX512, BACKEND_COUNT };

static const char *const backend_names[BACKEND_COUNT] = { "scalar", "avx2", "gfni-avx2", "gfni-avx512" };
static int backend_supported[BACKEND_COUNT];
static int current_backend = BACKEND_SCALAR;

static void init_backends (void) {
  backend_supported[BACKEND_SCALAR] = 1;
#if HF_X86
  __builtin_cpu_init();
  /* __builtin_cpu_supports also checks (XGETBV) that the OS saves the ymm / zmm state. */
  int avx2 = __builtin_cpu_supports("avx2") != 0;
  int gfni = __builtin_cpu_supports("gfni") != 0;
  int avx512 = __builtin_cpu_supports("avx512f") != 0 && __builtin_cpu_supports("avx512bw") != 0;
  backend_supported[BACKEND_AVX2] = avx2;
  backend_supported[BACKEND_GFNI_AVX2] = avx2 && gfni;
  backend_supported[BACKEND_GFNI_AVX512] = avx512 && gfni;
#endif
  for (int b = 0; b < BACKEND_COUNT; b++) {
    if (backend_supported[b]) current_backend = b;
  }
}

static void init_once (void) {
  init_tables();
  init_backends();
}

#if defined(__GNUC__) || defined(__clang__)
/* Runs once when the shared object is loaded, before any thread (worker) can call into it. */
__attribute__((constructor)) static void init_at_load (void) { init_once(); }
#define ENSURE_INIT() ((void)0)
#else
static int initialized;
#define ENSURE_INIT() do { if (!initialized) { init_once(); initialized = 1; } } while (0)
#endif

/* ---------------------------------------------------------------------------------------------------- */
/* The job and the scalar kernel.                                                                        */

typedef struct {
  const uint8_t *coeffs;
  size_t rows;
  size_t cols;
  const uint8_t *const *src;
  uint8_t *const *dst;
  size_t length;
  /* copy[c] receives a copy of src[c], for c < ncopy, block by block along with the coding. */
  uint8_t *const *copy;
  size_t ncopy;
} job_t;

/* Column block: the sources of one block should stay in L2 while every output group reads them. */
static size_t block_size (size_t cols) {
  size_t b = ((size_t)256 * 1024 / cols) & ~(size_t)63;
  if (b < 2048) b = 2048;
  if (b > 32768) b = 32768;
  return b;
}

static void xor_into (uint8_t *restrict out, const uint8_t *restrict in, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t a, b;
    memcpy(&a, out + i, 8);
    memcpy(&b, in + i, 8);
    a ^= b;
    memcpy(out + i, &a, 8);
  }
  for (; i < n; i++) out[i] ^= in[i];
}

/* All rows over the byte range [from, to), in column blocks. */
static void scalar_range (const job_t *job, size_t from, size_t to) {
  const size_t block = block_size(job->cols);
  for (size_t off = from; off < to; off += block) {
    const size_t n = to - off < block ? to - off : block;
    for (size_t r = 0; r < job->rows; r++) {
      uint8_t *restrict out = job->dst[r] + off;
      int assigned = 0;
      for (size_t c = 0; c < job->cols; c++) {
        const uint8_t coef = job->coeffs[r * job->cols + c];
        const uint8_t *restrict in = job->src[c] + off;
        const uint8_t *restrict t = gf_mul_table[coef];
        if (coef == 0) continue;
        if (!assigned) {
          if (coef == 1) memcpy(out, in, n);
          else for (size_t i = 0; i < n; i++) out[i] = t[in[i]];
          assigned = 1;
        } else if (coef == 1) {
          xor_into(out, in, n);
        } else {
          for (size_t i = 0; i < n; i++) out[i] ^= t[in[i]];
        }
      }
      if (!assigned) memset(out, 0, n);
    }
    for (size_t c = 0; c < job->ncopy; c++) memcpy(job->copy[c] + off, job->src[c] + off, n);
  }
}

/* ---------------------------------------------------------------------------------------------------- */
/* Vector kernels. A group kernel handles G consecutive output rows over [from, to), a multiple of the    */
/* vector width; `tbl` holds the group's per-coefficient constants in the order [c][g], ENTRY bytes each. */

typedef void (*group_fn)(const uint8_t *tbl, size_t cols, const uint8_t *const *src, uint8_t *const *dst,
  size_t from, size_t to);

#if HF_X86

#define AVX2_G_MAX 6
#define AVX2_ENTRY 32

/* a * v for the 32 bytes of v, given v's low and high nibbles and a's two 16-byte tables at t. */
static inline __attribute__((always_inline, target("avx2")))
__m256i avx2_mul (const uint8_t *t, __m256i lo, __m256i hi) {
  const __m256i tlo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)t));
  const __m256i thi = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(t + 16)));
  return _mm256_xor_si256(_mm256_shuffle_epi8(tlo, lo), _mm256_shuffle_epi8(thi, hi));
}

static inline __attribute__((always_inline, target("avx2")))
void avx2_group (const int G, const uint8_t *tbl, size_t cols, const uint8_t *const *src, uint8_t *const *dst,
  size_t from, size_t to) {
  const __m256i mask = _mm256_set1_epi8(0x0f);
  for (size_t i = from; i < to; i += 32) {
    __m256i acc[AVX2_G_MAX];
    const uint8_t *t = tbl;
    __m256i v = _mm256_loadu_si256((const __m256i *)(src[0] + i));
    __m256i lo = _mm256_and_si256(v, mask);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi64(v, 4), mask);
    for (int g = 0; g < G; g++) acc[g] = avx2_mul(t + AVX2_ENTRY * g, lo, hi);
    for (size_t c = 1; c < cols; c++) {
      t += AVX2_ENTRY * G;
      v = _mm256_loadu_si256((const __m256i *)(src[c] + i));
      lo = _mm256_and_si256(v, mask);
      hi = _mm256_and_si256(_mm256_srli_epi64(v, 4), mask);
      for (int g = 0; g < G; g++) acc[g] = _mm256_xor_si256(acc[g], avx2_mul(t + AVX2_ENTRY * g, lo, hi));
    }
    for (int g = 0; g < G; g++) _mm256_storeu_si256((__m256i *)(dst[g] + i), acc[g]);
  }
}

#define GFNI256_G_MAX 8
#define GFNI_ENTRY 8

/* The 8-byte matrix at t, in every qword of a vector. */
static inline uint64_t load_matrix (const uint8_t *t) {
  uint64_t m;
  memcpy(&m, t, 8);
  return m;
}

static inline __attribute__((always_inline, target("avx2,gfni")))
__m256i gfni256_mul (const uint8_t *t, __m256i v) {
  return _mm256_gf2p8affine_epi64_epi8(v, _mm256_set1_epi64x((long long)load_matrix(t)), 0);
}

static inline __attribute__((always_inline, target("avx2,gfni")))
void gfni256_group (const int G, const uint8_t *tbl, size_t cols, const uint8_t *const *src, uint8_t *const *dst,
  size_t from, size_t to) {
  for (size_t i = from; i < to; i += 32) {
    __m256i acc[GFNI256_G_MAX];
    const uint8_t *t = tbl;
    __m256i v = _mm256_loadu_si256((const __m256i *)(src[0] + i));
    for (int g = 0; g < G; g++) acc[g] = gfni256_mul(t + GFNI_ENTRY * g, v);
    for (size_t c = 1; c < cols; c++) {
      t += GFNI_ENTRY * G;
      v = _mm256_loadu_si256((const __m256i *)(src[c] + i));
      for (int g = 0; g < G; g++) acc[g] = _mm256_xor_si256(acc[g], gfni256_mul(t + GFNI_ENTRY * g, v));
    }
    for (int g = 0; g < G; g++) _mm256_storeu_si256((__m256i *)(dst[g] + i), acc[g]);
  }
}

#define GFNI512_G_MAX 8

static inline __attribute__((always_inline, target("avx512f,avx512bw,gfni")))
__m512i gfni512_mul (const uint8_t *t, __m512i v) {
  return _mm512_gf2p8affine_epi64_epi8(v, _mm512_set1_epi64((long long)load_matrix(t)), 0);
}

static inline __attribute__((always_inline, target("avx512f,avx512bw,gfni")))
void gfni512_group (const int G, const uint8_t *tbl, size_t cols, const uint8_t *const *src, uint8_t *const *dst,
  size_t from, size_t to) {
  for (size_t i = from; i < to; i += 64) {
    __m512i acc[GFNI512_G_MAX];
    const uint8_t *t = tbl;
    __m512i v = _mm512_loadu_si512((const void *)(src[0] + i));
    for (int g = 0; g < G; g++) acc[g] = gfni512_mul(t + GFNI_ENTRY * g, v);
    for (size_t c = 1; c < cols; c++) {
      t += GFNI_ENTRY * G;
      v = _mm512_loadu_si512((const void *)(src[c] + i));
      for (int g = 0; g < G; g++) acc[g] = _mm512_xor_si512(acc[g], gfni512_mul(t + GFNI_ENTRY * g, v));
    }
    for (int g = 0; g < G; g++) _mm512_storeu_si512((void *)(dst[g] + i), acc[g]);
  }
}

/* One non-inlined function per group size, so each has its G accumulators in registers. */
#define GROUP_FN(kernel, target_spec, G) \
  static __attribute__((noinline, target(target_spec))) \
  void kernel##_g##G (const uint8_t *tbl, size_t cols, const uint8_t *const *src, uint8_t *const *dst, \
    size_t from, size_t to) { kernel##_group(G, tbl, cols, src, dst, from, to); }

GROUP_FN(avx2, "avx2", 1)
GROUP_FN(avx2, "avx2", 2)
GROUP_FN(avx2, "avx2", 3)
GROUP_FN(avx2, "avx2", 4)
GROUP_FN(avx2, "avx2", 5)
GROUP_FN(avx2, "avx2", 6)
static const group_fn avx2_fns[AVX2_G_MAX + 1] = {
  NULL, avx2_g1, avx2_g2, avx2_g3, avx2_g4, avx2_g5, avx2_g6
};

GROUP_FN(gfni256, "avx2,gfni", 1)
GROUP_FN(gfni256, "avx2,gfni", 2)
GROUP_FN(gfni256, "avx2,gfni", 3)
GROUP_FN(gfni256, "avx2,gfni", 4)
GROUP_FN(gfni256, "avx2,gfni", 5)
GROUP_FN(gfni256, "avx2,gfni", 6)
GROUP_FN(gfni256, "avx2,gfni", 7)
GROUP_FN(gfni256, "avx2,gfni", 8)
static const group_fn gfni256_fns[GFNI256_G_MAX + 1] = {
  NULL, gfni256_g1, gfni256_g2, gfni256_g3, gfni256_g4, gfni256_g5, gfni256_g6, gfni256_g7, gfni256_g8
};

GROUP_FN(gfni512, "avx512f,avx512bw,gfni", 1)
GROUP_FN(gfni512, "avx512f,avx512bw,gfni", 2)
GROUP_FN(gfni512, "avx512f,avx512bw,gfni", 3)
GROUP_FN(gfni512, "avx512f,avx512bw,gfni", 4)
GROUP_FN(gfni512, "avx512f,avx512bw,gfni", 5)
GROUP_FN(gfni512, "avx512f,avx512bw,gfni", 6)
GROUP_FN(gfni512, "avx512f,avx512bw,gfni", 7)
GROUP_FN(gfni512, "avx512f,avx512bw,gfni", 8)
static const group_fn gfni512_fns[GFNI512_G_MAX + 1] = {
  NULL, gfni512_g1, gfni512_g2, gfni512_g3, gfni512_g4, gfni512_g5, gfni512_g6, gfni512_g7, gfni512_g8
};

typedef struct {
  const group_fn *fns;
  int g_max;
  size_t width;
  /* Per-coefficient constants: entry_size bytes at table + coefficient * entry_size. */
  const uint8_t *table;
  size_t entry_size;
} vector_kernel_t;

/* Rows [0, rows) split into `count` groups of near-equal size (the first `rows % count` one larger). */
static size_t group_count (size_t rows, int g_max) { return (rows + (size_t)g_max - 1) / (size_t)g_max; }
static size_t group_rows (size_t rows, size_t count, size_t index) {
  return rows / count + (index < rows % count ? 1 : 0);
}

/* Returns 0, or -1 when the constants table cannot be allocated. */
static int vector_run (const job_t *job, const vector_kernel_t *k) {
  const size_t rows = job->rows, cols = job->cols;
  const size_t vlen = job->length - job->length % k->width;
  if (vlen > 0) {
    /* The constants of every group, [group][c][g], so that each kernel walks its part in order. */
    uint8_t stack_tbl[16384];
    const size_t tbl_size = rows * cols * k->entry_size;
    uint8_t *tbl = tbl_size <= sizeof stack_tbl ? stack_tbl : malloc(tbl_size);
    if (tbl == NULL) return -1;
    const size_t groups = group_count(rows, k->g_max);
    uint8_t *p = tbl;
    for (size_t gi = 0, r0 = 0; gi < groups; gi++) {
      const size_t G = group_rows(rows, groups, gi);
      for (size_t c = 0; c < cols; c++) {
        for (size_t g = 0; g < G; g++, p += k->entry_size) {
          memcpy(p, k->table + (size_t)job->coeffs[(r0 + g) * cols + c] * k->entry_size, k->entry_size);
        }
      }
      r0 += G;
    }
    const size_t block = block_size(cols);
    for (size_t off = 0; off < vlen; off += block) {
      const size_t end = vlen - off < block ? vlen : off + block;
      const uint8_t *t = tbl;
      for (size_t gi = 0, r0 = 0; gi < groups; gi++) {
        const size_t G = group_rows(rows, groups, gi);
        k->fns[G](t, cols, job->src, job->dst + r0, off, end);
        t += G * cols * k->entry_size;
        r0 += G;
      }
      /* The copies of this block come from L2, where the groups just left the sources. */
      for (size_t c = 0; c < job->ncopy; c++) memcpy(job->copy[c] + off, job->src[c] + off, end - off);
    }
    if (tbl != stack_tbl) free(tbl);
  }
  if (vlen < job->length) scalar_range(job, vlen, job->length);
  return 0;
}

#endif /* HF_X86 */

/* Returns 0, or -1 when out of memory. */
static int run (const job_t *job, int backend) {
  if (job->length == 0) return 0;
  if (job->rows == 0 || job->cols == 0) {
    for (size_t c = 0; c < job->ncopy; c++) memcpy(job->copy[c], job->src[c], job->length);
    for (size_t r = 0; r < job->rows; r++) memset(job->dst[r], 0, job->length);
    return 0;
  }
#if HF_X86
  vector_kernel_t k;
  switch (backend) {
    case BACKEND_AVX2:
      k = (vector_kernel_t){ avx2_fns, AVX2_G_MAX, 32, &nibble_table[0][0], AVX2_ENTRY };
      return vector_run(job, &k);
    case BACKEND_GFNI_AVX2:
      k = (vector_kernel_t){ gfni256_fns, GFNI256_G_MAX, 32, &affine_table[0][0], GFNI_ENTRY };
      return vector_run(job, &k);
    case BACKEND_GFNI_AVX512:
      k = (vector_kernel_t){ gfni512_fns, GFNI512_G_MAX, 64, &affine_table[0][0], GFNI_ENTRY };
      return vector_run(job, &k);
    default:
      break;
  }
#else
  (void)backend;
#endif
  scalar_range(job, 0, job->length);
  return 0;
}

/* ---------------------------------------------------------------------------------------------------- */
/* N-API glue. Every argument is checked; a bad call throws a JS error instead of touching memory.       */

#define CHECK_NAPI(call) do { if ((call) != napi_ok) { throw_pending(env, #call); return NULL; } } while (0)

static void throw_pending (napi_env env, const char *what) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;
  napi_throw_error(env, NULL, what);
}

static napi_value throw_type (napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

static napi_value throw_range (napi_env env, const char *message) {
  napi_throw_range_error(env, NULL, message);
  return NULL;
}

/* A Uint8Array (Buffer included): its data pointer (offset applied) and length. Returns 0 on success. */
static int get_bytes (napi_env env, napi_value value, uint8_t **data, size_t *length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return -1;
  napi_typedarray_type type;
  void *ptr = NULL;
  if (napi_get_typedarray_info(env, value, &type, length, &ptr, NULL, NULL) != napi_ok) return -1;
  if (type != napi_uint8_array) return -1;
  *data = ptr;
  return 0;
}

/* An integer in [0, max]. Returns 0 on success. */
static int get_count (napi_env env, napi_value value, double max, size_t *out) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, value, &t) != napi_ok || t != napi_number) return -1;
  if (napi_get_value_double(env, value, &d) != napi_ok) return -1;
  if (!isfinite(d) || d < 0 || d > max || d > (double)SIZE_MAX || floor(d) != d) return -1;
  *out = (size_t)d;
  return 0;
}

/* Reads an array of `count` Uint8Arrays (at most `count` when `at_most`) of at least `length` bytes into
 * `out`, and its length into `n_out`. Returns NULL with an exception pending on failure. */
static napi_value get_buffers (napi_env env, napi_value array, size_t count, int at_most, size_t length,
  const char *name, uint8_t **out, size_t *n_out) {
  char message[160];
  bool is_array = false;
  uint32_t n = 0;
  CHECK_NAPI(napi_is_array(env, array, &is_array));
  if (is_array) CHECK_NAPI(napi_get_array_length(env, array, &n));
  if (!is_array || (at_most ? n > count : n != count)) {
    snprintf(message, sizeof message, "%s must be an array of %s%zu Uint8Arrays", name, at_most ? "at most " : "", count);
    return throw_range(env, message);
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value element;
    size_t len = 0;
    CHECK_NAPI(napi_get_element(env, array, i, &element));
    if (get_bytes(env, element, &out[i], &len) != 0) {
      snprintf(message, sizeof message, "%s[%u] must be a Uint8Array", name, i);
      return throw_type(env, message);
    }
    if (len < length) {
      snprintf(message, sizeof message, "%s[%u] has %zu bytes, need %zu", name, i, len, length);
      return throw_range(env, message);
    }
  }
  *n_out = n;
  return array;
}

static int overlaps (const uint8_t *a, const uint8_t *b, size_t length) {
  return (uintptr_t)a < (uintptr_t)b + length && (uintptr_t)b < (uintptr_t)a + length;
}

/* Throws unless every buffer in `written` is disjoint from every buffer in `read`, over `length` bytes.
 * Returns 0 when they are. */
static int check_disjoint (napi_env env, const char *written_name, uint8_t *const *written, size_t n_written,
  const char *read_name, uint8_t *const *read, size_t n_read, size_t length) {
  char message[160];
  for (size_t w = 0; w < n_written; w++) {
    for (size_t r = 0; r < n_read; r++) {
      if (overlaps(written[w], read[r], length)) {
        snprintf(message, sizeof message, "%s[%zu] overlaps %s[%zu]", written_name, w, read_name, r);
        throw_range(env, message);
        return -1;
      }
    }
  }
  return 0;
}

/* Throws unless the buffers are pairwise disjoint over `length` bytes. Returns 0 when they are. */
static int check_pairwise_disjoint (napi_env env, const char *name, uint8_t *const *bufs, size_t n, size_t length) {
  char message[160];
  for (size_t a = 1; a < n; a++) {
    for (size_t b = 0; b < a; b++) {
      if (overlaps(bufs[a], bufs[b], length)) {
        snprintf(message, sizeof message, "%s[%zu] overlaps %s[%zu]", name, a, name, b);
        throw_range(env, message);
        return -1;
      }
    }
  }
  return 0;
}

/* mulAdd(coeffs, rows, cols, sources, outputs, length[, copies]) */
static napi_value js_mul_add (napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  char message[160];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) return throw_type(env, "mulAdd(coeffs, rows, cols, sources, outputs, length[, copies]) takes 6 or 7 arguments");

  uint8_t *coeffs = NULL;
  size_t coeffs_length = 0, rows = 0, cols = 0, length = 0;
  if (get_bytes(env, argv[0], &coeffs, &coeffs_length) != 0) return throw_type(env, "coeffs must be a Uint8Array");
  if (get_count(env, argv[1], MAX_DIM, &rows) != 0) return throw_range(env, "rows must be an integer from 0 to 256");
  if (get_count(env, argv[2], MAX_DIM, &cols) != 0) return throw_range(env, "cols must be an integer from 0 to 256");
  if (get_count(env, argv[5], 9007199254740991.0, &length) != 0) {
    return throw_range(env, "length must be a non-negative integer");
  }
  if (coeffs_length < rows * cols) {
    snprintf(message, sizeof message, "coeffs has %zu elements, need %zu", coeffs_length, rows * cols);
    return throw_range(env, message);
  }

  uint8_t *src[MAX_DIM];
  uint8_t *dst[MAX_DIM];
  uint8_t *copy[MAX_DIM];
  size_t n_src = 0, n_dst = 0, n_copy = 0;
  if (get_buffers(env, argv[3], cols, 0, length, "sources", src, &n_src) == NULL) return NULL;
  if (get_buffers(env, argv[4], rows, 0, length, "outputs", dst, &n_dst) == NULL) return NULL;
  if (argc >= 7) {
    napi_valuetype t;
    CHECK_NAPI(napi_typeof(env, argv[6], &t));
    if (t != napi_undefined && t != napi_null &&
      get_buffers(env, argv[6], cols, 1, length, "copies", copy, &n_copy) == NULL) return NULL;
  }
  if (length > 0) {
    /* Written buffers must not overlap anything read or written: the kernels read and write in blocks,
     * so overlapping calls would give backend-dependent bytes. */
    if (check_disjoint(env, "outputs", dst, n_dst, "sources", src, n_src, length) != 0 ||
      check_disjoint(env, "copies", copy, n_copy, "sources", src, n_src, length) != 0 ||
      check_disjoint(env, "copies", copy, n_copy, "outputs", dst, n_dst, length) != 0 ||
      check_pairwise_disjoint(env, "outputs", dst, n_dst, length) != 0 ||
      check_pairwise_disjoint(env, "copies", copy, n_copy, length) != 0) return NULL;
  }

  const job_t job = { coeffs, rows, cols, (const uint8_t *const *)src, dst, length, copy, n_copy };
  if (run(&job, HF_ATOMIC_LOAD(&current_backend)) != 0) {
    napi_throw_error(env, NULL, "mulAdd: out of memory");
    return NULL;
  }
  return NULL;
}

static napi_value js_backend (napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK_NAPI(napi_create_string_utf8(env, backend_names[HF_ATOMIC_LOAD(&current_backend)], NAPI_AUTO_LENGTH, &out));
  return out;
}

static napi_value js_backends (napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  uint32_t n = 0;
  CHECK_NAPI(napi_create_array(env, &out));
  for (int b = 0; b < BACKEND_COUNT; b++) {
    if (!backend_supported[b]) continue;
    napi_value name;
    CHECK_NAPI(napi_create_string_utf8(env, backend_names[b], NAPI_AUTO_LENGTH, &name));
    CHECK_NAPI(napi_set_element(env, out, n++, name));
  }
  return out;
}

static napi_value js_set_backend (napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype t = napi_undefined;
  char name[32];
  char message[96];
  size_t len = 0;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_string) {
    return throw_type(env, "setBackend(name) needs a string");
  }
  CHECK_NAPI(napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len));
  for (int b = 0; b < BACKEND_COUNT; b++) {
    if (len != strlen(backend_names[b]) || strcmp(name, backend_names[b]) != 0) continue;
    if (!backend_supported[b]) {
      snprintf(message, sizeof message, "gf256 backend '%s' is not supported by this CPU", name);
      napi_throw_error(env, NULL, message);
      return NULL;
    }
    HF_ATOMIC_STORE(&current_backend, b);
    return NULL;
  }
  snprintf(message, sizeof message, "unknown gf256 backend '%s'", name);
  return throw_range(env, message);
}

NAPI_MODULE_INIT () {
  ENSURE_INIT();
  napi_property_descriptor properties[] = {
    { "mulAdd", NULL, js_mul_add, NULL, NULL, NULL, napi_enumerable, NULL },
    { "backend", NULL, js_backend, NULL, NULL, NULL, napi_enumerable, NULL },
    { "backends", NULL, js_backends, NULL, NULL, NULL, napi_enumerable, NULL },
    { "setBackend", NULL, js_set_backend, NULL, NULL, NULL, napi_enumerable, NULL }
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties) != napi_ok) {
    return NULL;
  }
  return exports;
}
