/*
 * Merkle roots of shards, natively: the same tree as src/audit/merkle.ts (leaf = SHA-256(0x00 || segment),
 * inner = SHA-256(0x01 || left || right), an odd last node promoted unchanged), computed without a call
 * per node. SHA-256 uses the SHA extensions when the CPU has them (checked at run time) and a portable
 * implementation of FIPS 180-4 otherwise; both are checked against node:crypto by the tests.
 */
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HF_X86 1
#endif

static const uint32_t K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

static const uint32_t H0[8] = {
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
};

typedef void (*compress_fn)(uint32_t state[8], const uint8_t *blocks, size_t count);

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void compress_portable(uint32_t state[8], const uint8_t *p, size_t count) {
  uint32_t w[64];
  while (count--) {
    for (int i = 0; i < 16; i++) {
      w[i] = ((uint32_t)p[4 * i] << 24) | ((uint32_t)p[4 * i + 1] << 16) | ((uint32_t)p[4 * i + 2] << 8) | p[4 * i + 3];
    }
    for (int i = 16; i < 64; i++) {
      uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int i = 0; i < 64; i++) {
      uint32_t t1 = h + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
      uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
    p += 64;
  }
}

#ifdef HF_X86
/* Four rounds with the SHA extensions: message words plus constants, two rnds2 steps. */
#define ROUNDS4(msg, k)                                                \
  do {                                                                 \
    __m128i t_ = _mm_add_epi32((msg), _mm_loadu_si128((const __m128i *)&K[k])); \
    s1 = _mm_sha256rnds2_epu32(s1, s0, t_);                            \
    t_ = _mm_shuffle_epi32(t_, 0x0E);                                  \
    s0 = _mm_sha256rnds2_epu32(s0, s1, t_);                            \
  } while (0)

/* Next four schedule words: w[i..i+3] from the four previous groups. */
#define SCHEDULE(m0, m1, m2, m3)                                       \
  do {                                                                 \
    m0 = _mm_sha256msg1_epu32(m0, m1);                                 \
    m0 = _mm_add_epi32(m0, _mm_alignr_epi8(m3, m2, 4));                \
    m0 = _mm_sha256msg2_epu32(m0, m3);                                 \
  } while (0)

__attribute__((target("sha,sse4.1,ssse3")))
static void compress_shani(uint32_t state[8], const uint8_t *p, size_t count) {
  const __m128i bswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
  /* the rnds2 instruction wants the state as ABEF and CDGH */
  __m128i abcd = _mm_loadu_si128((const __m128i *)&state[0]);
  __m128i efgh = _mm_loadu_si128((const __m128i *)&state[4]);
  __m128i t = _mm_shuffle_epi32(abcd, 0xB1);         /* CDAB */
  efgh = _mm_shuffle_epi32(efgh, 0x1B);              /* HGFE */
  __m128i s0 = _mm_alignr_epi8(t, efgh, 8);           /* ABEF */
  __m128i s1 = _mm_blend_epi16(efgh, t, 0xF0);        /* CDGH */
  while (count--) {
    __m128i save0 = s0, save1 = s1;
    __m128i m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 0)), bswap);
    __m128i m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), bswap);
    __m128i m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), bswap);
    __m128i m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), bswap);
    ROUNDS4(m0, 0); ROUNDS4(m1, 4); ROUNDS4(m2, 8); ROUNDS4(m3, 12);
    for (int r = 16; r < 64; r += 16) {
      SCHEDULE(m0, m1, m2, m3); ROUNDS4(m0, r);
      SCHEDULE(m1, m2, m3, m0); ROUNDS4(m1, r + 4);
      SCHEDULE(m2, m3, m0, m1); ROUNDS4(m2, r + 8);
      SCHEDULE(m3, m0, m1, m2); ROUNDS4(m3, r + 12);
    }
    s0 = _mm_add_epi32(s0, save0);
    s1 = _mm_add_epi32(s1, save1);
    p += 64;
  }
  t = _mm_shuffle_epi32(s0, 0x1B);                    /* FEBA */
  s1 = _mm_shuffle_epi32(s1, 0xB1);                   /* DCHG */
  abcd = _mm_blend_epi16(t, s1, 0xF0);                /* DCBA: lane 0 holds A, as state[] wants */
  efgh = _mm_alignr_epi8(s1, t, 8);                   /* HGFE */
  _mm_storeu_si128((__m128i *)&state[0], abcd);
  _mm_storeu_si128((__m128i *)&state[4], efgh);
}
#endif

static compress_fn compress = compress_portable;
static const char *backend = "portable";

/* SHA-256(prefix || body) into out. */
static void sha256_prefixed(uint8_t prefix, const uint8_t *body, size_t len, uint8_t out[32]) {
  uint32_t st[8];
  memcpy(st, H0, sizeof st);
  uint8_t block[128];
  size_t total = len + 1;
  /* first block: the prefix and up to 63 body bytes */
  size_t first = len < 63 ? len : 63;
  block[0] = prefix;
  memcpy(block + 1, body, first);
  size_t done = first;
  if (1 + first == 64) {
    compress(st, block, 1);
    size_t full = (len - done) / 64;
    if (full > 0) compress(st, body + done, full);
    done += full * 64;
    size_t rest = len - done;
    memcpy(block, body + done, rest);
    first = rest; /* bytes in block */
  } else {
    first = 1 + first;
  }
  /* padding: 0x80, zeros, 64-bit big-endian bit length */
  size_t n = first;
  block[n++] = 0x80;
  size_t blocks = (n + 8 <= 64) ? 1 : 2;
  memset(block + n, 0, blocks * 64 - n);
  uint64_t bits = (uint64_t)total * 8;
  for (int i = 0; i < 8; i++) block[blocks * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));
  compress(st, block, blocks);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (uint8_t)(st[i] >> 24); out[4 * i + 1] = (uint8_t)(st[i] >> 16);
    out[4 * i + 2] = (uint8_t)(st[i] >> 8); out[4 * i + 3] = (uint8_t)st[i];
  }
}

/* Root of the tree over data in segments; nodes must hold max(1, ceil(len/seg)) * 32 bytes. */
static void merkle_root(const uint8_t *data, size_t len, size_t seg, uint8_t *nodes, uint8_t root[32]) {
  size_t n = len == 0 ? 1 : (len + seg - 1) / seg;
  for (size_t i = 0; i < n; i++) {
    size_t off = i * seg;
    size_t l = len - off < seg ? len - off : seg;
    sha256_prefixed(0x00, data + off, len == 0 ? 0 : l, nodes + 32 * i);
  }
  while (n > 1) {
    size_t m = 0;
    for (size_t i = 0; i + 1 < n; i += 2) sha256_prefixed(0x01, nodes + 32 * i, 64, nodes + 32 * m++);
    if (n & 1) memmove(nodes + 32 * m++, nodes + 32 * (n - 1), 32);
    n = m;
  }
  memcpy(root, nodes, 32);
}

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, "N-API call failed: " #call); return NULL; } } while (0)

/* merkleRoot(data: Uint8Array, segmentSize: number): Buffer (32 bytes) */
static napi_value js_merkle_root(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) { napi_throw_type_error(env, NULL, "merkleRoot(data, segmentSize)"); return NULL; }
  bool is_ta = false;
  CHECK(napi_is_typedarray(env, argv[0], &is_ta));
  if (!is_ta) { napi_throw_type_error(env, NULL, "data must be a Uint8Array"); return NULL; }
  napi_typedarray_type type;
  size_t length;
  void *ptr;
  CHECK(napi_get_typedarray_info(env, argv[0], &type, &length, &ptr, NULL, NULL));
  if (type != napi_uint8_array) { napi_throw_type_error(env, NULL, "data must be a Uint8Array"); return NULL; }
  int64_t seg;
  CHECK(napi_get_value_int64(env, argv[1], &seg));
  if (seg < 1 || seg > (1 << 30)) { napi_throw_range_error(env, NULL, "segment size out of range"); return NULL; }
  size_t n = length == 0 ? 1 : (length + (size_t)seg - 1) / (size_t)seg;
  uint8_t *nodes = malloc(n * 32);
  if (nodes == NULL) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  napi_value result;
  void *out;
  if (napi_create_buffer(env, 32, &out, &result) != napi_ok) { free(nodes); napi_throw_error(env, NULL, "cannot allocate"); return NULL; }
  merkle_root((const uint8_t *)ptr, length, (size_t)seg, nodes, out);
  free(nodes);
  return result;
}

static napi_value js_backend(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value s;
  CHECK(napi_create_string_utf8(env, backend, NAPI_AUTO_LENGTH, &s));
  return s;
}

/* setBackend('portable' | 'sha-ni'): for tests, which compare both against node:crypto. */
static napi_value js_set_backend(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char name[32] = { 0 };
  size_t got;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &got) != napi_ok) {
    napi_throw_type_error(env, NULL, "setBackend(name)");
    return NULL;
  }
  if (strcmp(name, "portable") == 0) { compress = compress_portable; backend = "portable"; return NULL; }
#ifdef HF_X86
  if (strcmp(name, "sha-ni") == 0 && __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1")) {
    compress = compress_shani; backend = "sha-ni"; return NULL;
  }
#endif
  napi_throw_error(env, NULL, "backend not supported on this CPU");
  return NULL;
}

/*
 * trimMemory(): gives memory that the C allocator keeps after free() back to the system. A backup moves
 * about a gigabyte through short-lived buffers on several threads; glibc keeps what they free in its
 * per-thread heaps, so the process's resident size would grow far beyond what is alive. Called once per
 * stored pack. No-op off glibc.
 */
static napi_value js_trim_memory(napi_env env, napi_callback_info info) {
  (void)info;
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
  napi_value undefined;
  CHECK(napi_get_undefined(env, &undefined));
  return undefined;
}

static napi_value init(napi_env env, napi_value exports) {
#ifdef HF_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1")) { compress = compress_shani; backend = "sha-ni"; }
#endif
  napi_property_descriptor props[] = {
    { "merkleRoot", NULL, js_merkle_root, NULL, NULL, NULL, napi_default, NULL },
    { "backend", NULL, js_backend, NULL, NULL, NULL, napi_default, NULL },
    { "setBackend", NULL, js_set_backend, NULL, NULL, NULL, napi_default, NULL },
    { "trimMemory", NULL, js_trim_memory, NULL, NULL, NULL, napi_default, NULL }
  };
#if defined(__GLIBC__)
  /* A fixed mmap threshold: big buffers are mapped and unmapped instead of raising the threshold
   * dynamically and then piling up in the heaps (see trimMemory). Set once per process. */
  static int tuned = 0;
  if (!tuned) { mallopt(M_MMAP_THRESHOLD, 256 * 1024); tuned = 1; }
#endif
  CHECK(napi_define_properties(env, exports, 4, props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
