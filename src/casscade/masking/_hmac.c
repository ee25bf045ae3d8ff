/*
 * casscade.masking._hmac: HMAC-SHA-256 (RFC 2104) of many short values under one key, with
 * OpenSSL 3's SHA-256 doing the hashing.
 *
 * Why C: masking hashes up to several values per change. From Python each HMAC costs about
 * 0.6 us (hashlib's copied states: four method calls, and an OpenSSL context made and freed
 * for each copy() and digest()). Here the two contexts that absorbed the key's pads are
 * kept, and each value copies them into one working context: about 0.19 us a value with the
 * call (OpenSSL still makes the copy's internal state anew; docs/benchmarks.md).
 *
 * `OpenSslHmac(key).hex_and_head(data, prefix, head)` gives what a hashed cell keeps, its
 * text (the prefix and the HMAC's hex) and its tie bytes (the HMAC's first head bytes), from
 * one call: 0.24 us, where a digest, hex(), a join and a slice took 0.25 us and made two
 * objects more. The HMAC equals `hmac.digest(key, data, "sha256")` for every key and data, a
 * str hashed as its UTF-8 bytes with lone surrogates kept ("surrogatepass");
 * tests/property/test_masking_properties.py checks it with hypothesis. The pure-Python
 * equivalent is `PythonHmac` in strategies.py (an install without C builds uses it).
 *
 * Thread safety: a call uses the object's working context and never releases the GIL, so two
 * calls on one object never run at once on CPython with a GIL (3.11, the project's Python).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>

#if OPENSSL_VERSION_NUMBER < 0x30000000L
#error "casscade.masking._hmac needs OpenSSL 3 (EVP_MD_fetch, EVP_DigestInit_ex2)"
#endif

#define BLOCK 64  /* SHA-256's block size, the length of the HMAC pads */
#define DIGEST 32 /* SHA-256's output size */

typedef struct {
    PyObject_HEAD
    EVP_MD *md;
    EVP_MD_CTX *inner; /* SHA-256 that absorbed the key, zero-padded to a block, XOR 0x36 */
    EVP_MD_CTX *outer; /* the same with the key XOR 0x5c */
    EVP_MD_CTX *work;  /* a copy of one of them, per value */
} HmacObject;

/* Raises RuntimeError naming what failed and OpenSSL's reason, and empties OpenSSL's error
   queue (a stale entry would mislead the next OpenSSL user on this thread). */
static PyObject *
openssl_error(const char *what)
{
    unsigned long code = ERR_get_error();
    const char *reason = code == 0 ? NULL : ERR_reason_error_string(code);
    PyErr_Format(PyExc_RuntimeError, "OpenSSL's SHA-256 failed while %s: %s", what,
                 reason == NULL ? "no reason given" : reason);
    ERR_clear_error();
    return NULL;
}

/* SHA-256 of a pad, then data, into out: the inner hash (the value after the key XOR
   ipad) or the outer one (the inner hash after the key XOR opad). 1 done, 0 failed (the
   working context is then reset, not left half made). */
static int
sha256_after_pad(HmacObject *self, const EVP_MD_CTX *pad, const void *data, size_t length,
                 unsigned char *out)
{
    unsigned int written = 0;
    int ok = EVP_MD_CTX_copy_ex(self->work, pad) == 1
        && EVP_DigestUpdate(self->work, data, length) == 1
        && EVP_DigestFinal_ex(self->work, out, &written) == 1
        && written == DIGEST;
    if (!ok) {
        EVP_MD_CTX_reset(self->work);
    }
    return ok;
}

/* A context that absorbed the key block XOR `with`; NULL when OpenSSL failed. */
static EVP_MD_CTX *
pad_context(const EVP_MD *md, const unsigned char *block, unsigned char with)
{
    unsigned char pad[BLOCK];
    for (int i = 0; i < BLOCK; i++) {
        pad[i] = block[i] ^ with;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex2(ctx, md, NULL) == 1
        && EVP_DigestUpdate(ctx, pad, BLOCK) == 1;
    OPENSSL_cleanse(pad, sizeof pad);
    if (!ok) {
        EVP_MD_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static PyObject *
Hmac_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *keywords[] = {"key", NULL};
    Py_buffer key;
    unsigned char block[BLOCK] = {0};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*:OpenSslHmac", keywords, &key)) {
        return NULL;
    }
    HmacObject *self = (HmacObject *)type->tp_alloc(type, 0); /* fields zeroed */
    if (self == NULL) {
        PyBuffer_Release(&key);
        return NULL;
    }
    EVP_MD *md = self->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    int ok = md != NULL;
    if (ok && key.len > BLOCK) { /* a long key is hashed first (RFC 2104) */
        unsigned int written = 0;
        ok = EVP_Digest(key.buf, (size_t)key.len, block, &written, md, NULL) == 1;
    }
    else if (ok && key.len > 0) {
        memcpy(block, key.buf, (size_t)key.len);
    }
    PyBuffer_Release(&key);
    if (ok) {
        self->inner = pad_context(md, block, 0x36);
        self->outer = pad_context(md, block, 0x5c);
        self->work = EVP_MD_CTX_new();
        ok = self->inner != NULL && self->outer != NULL && self->work != NULL;
    }
    OPENSSL_cleanse(block, sizeof block);
    if (!ok) {
        Py_DECREF(self);
        return openssl_error("preparing the key");
    }
    return (PyObject *)self;
}

static void
Hmac_dealloc(HmacObject *self)
{
    /* Freeing a context clears its state (the key's pads); NULL is fine. */
    EVP_MD_CTX_free(self->inner);
    EVP_MD_CTX_free(self->outer);
    EVP_MD_CTX_free(self->work);
    EVP_MD_free(self->md);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The inner hash of a str: its UTF-8 bytes, lone surrogates encoded as they are
   ("surrogatepass", as strategies.canonical_bytes does). An ASCII str's own characters are
   its UTF-8 bytes, so most values are hashed without a copy. 1 done, 0 OpenSSL failed,
   -1 a Python error is set. */
static int
inner_of_text(HmacObject *self, PyObject *text, unsigned char *inner)
{
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0) {
        return -1;
    }
#endif
    if (PyUnicode_IS_ASCII(text)) {
        return sha256_after_pad(self, self->inner, PyUnicode_DATA(text),
                                (size_t)PyUnicode_GET_LENGTH(text), inner);
    }
    PyObject *encoded = PyUnicode_AsEncodedString(text, "utf-8", "surrogatepass");
    if (encoded == NULL) {
        return -1;
    }
    int ok = sha256_after_pad(self, self->inner, PyBytes_AS_STRING(encoded),
                              (size_t)PyBytes_GET_SIZE(encoded), inner);
    Py_DECREF(encoded);
    return ok;
}

/* The inner hash of a bytes-like object; returns as inner_of_text. */
static int
inner_of_bytes(HmacObject *self, PyObject *data, unsigned char *inner)
{
    Py_buffer value;
    if (PyObject_GetBuffer(data, &value, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    int ok = sha256_after_pad(self, self->inner, value.buf, (size_t)value.len, inner);
    PyBuffer_Release(&value);
    return ok;
}

/* The HMAC of data (a str or a bytes-like object) into out. 0 done, -1 an error is set. */
static int
hmac_into(HmacObject *self, PyObject *data, unsigned char *out)
{
    unsigned char inner[DIGEST];
    int ok = PyUnicode_Check(data) ? inner_of_text(self, data, inner)
                                   : inner_of_bytes(self, data, inner);
    if (ok < 0) {
        return -1; /* not bytes-like, or a str that could not be encoded: raised */
    }
    if (!(ok && sha256_after_pad(self, self->outer, inner, DIGEST, out))) {
        openssl_error("hashing a value");
        return -1;
    }
    return 0;
}

/* prefix + the digest's lowercase hex, built in one str: an ASCII prefix's characters are
   copied, any other prefix is joined to the hex as Python would. */
static PyObject *
prefixed_hex(PyObject *prefix, const unsigned char *digest)
{
    static const char digits[] = "0123456789abcdef";
    char hex[2 * DIGEST];
    for (int i = 0; i < DIGEST; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 0x0f];
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(prefix) < 0) {
        return NULL;
    }
#endif
    if (!PyUnicode_IS_ASCII(prefix)) {
        PyObject *tail = PyUnicode_FromStringAndSize(hex, 2 * DIGEST);
        if (tail == NULL) {
            return NULL;
        }
        PyObject *text = PyUnicode_Concat(prefix, tail);
        Py_DECREF(tail);
        return text;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(prefix);
    PyObject *text = PyUnicode_New(length + 2 * DIGEST, 127);
    if (text == NULL) {
        return NULL;
    }
    Py_UCS1 *out = PyUnicode_1BYTE_DATA(text);
    memcpy(out, PyUnicode_1BYTE_DATA(prefix), (size_t)length);
    memcpy(out + length, hex, 2 * DIGEST);
    return text;
}

/* hex_and_head(data, prefix, head): (prefix + hex of the HMAC, its first head bytes), what
   a hashed cell needs (its text and its tie bytes) in one call: no bytes object of the whole
   digest, no hex() and no join of two str. */
static PyObject *
Hmac_hex_and_head(HmacObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "hex_and_head() takes 3 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *prefix = args[1];
    if (!PyUnicode_Check(prefix)) {
        PyErr_Format(PyExc_TypeError, "hex_and_head() prefix must be str, not %.100s",
                     Py_TYPE(prefix)->tp_name);
        return NULL;
    }
    /* Any integer (an index, as Python's slices take); one out of Py_ssize_t's range is
       clamped, and so refused below with its own value named. */
    Py_ssize_t head = PyNumber_AsSsize_t(args[2], NULL);
    if (head == -1 && PyErr_Occurred()) {
        return NULL; /* not an integer: TypeError */
    }
    if (head < 0 || head > DIGEST) {
        PyErr_Format(PyExc_ValueError, "hex_and_head() head must be 0 to %d, not %R", DIGEST,
                     args[2]);
        return NULL;
    }
    unsigned char digest[DIGEST];
    if (hmac_into(self, args[0], digest) < 0) {
        return NULL;
    }
    PyObject *text = prefixed_hex(prefix, digest);
    if (text == NULL) {
        return NULL;
    }
    PyObject *tie = PyBytes_FromStringAndSize((const char *)digest, head);
    if (tie == NULL) {
        Py_DECREF(text);
        return NULL;
    }
    PyObject *pair = PyTuple_New(2);
    if (pair == NULL) {
        Py_DECREF(text);
        Py_DECREF(tie);
        return NULL;
    }
    PyTuple_SET_ITEM(pair, 0, text); /* steals both */
    PyTuple_SET_ITEM(pair, 1, tie);
    return pair;
}

static PyObject *
Hmac_repr(HmacObject *Py_UNUSED(self))
{
    return PyUnicode_FromString("OpenSslHmac(sha256)"); /* never the key */
}

static PyMethodDef Hmac_methods[] = {
    {"hex_and_head", (PyCFunction)(void (*)(void))Hmac_hex_and_head, METH_FASTCALL,
     "hex_and_head(data, prefix, head) -> (str, bytes): prefix followed by the HMAC's 64\n"
     "lowercase hex digits, and the HMAC's first head bytes (0 to 32)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject HmacType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "casscade.masking._hmac.OpenSslHmac",
    .tp_doc = "OpenSslHmac(key): HMAC-SHA-256 under one key, for many short values.",
    .tp_basicsize = sizeof(HmacObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = Hmac_new,
    .tp_dealloc = (destructor)Hmac_dealloc,
    .tp_repr = (reprfunc)Hmac_repr,
    .tp_methods = Hmac_methods,
};

static struct PyModuleDef hmac_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "casscade.masking._hmac",
    .m_doc = "HMAC-SHA-256 of many short values under one key (OpenSSL 3's SHA-256).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__hmac(void)
{
    if (PyType_Ready(&HmacType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&hmac_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&HmacType);
    if (PyModule_AddObject(module, "OpenSslHmac", (PyObject *)&HmacType) < 0) {
        Py_DECREF(&HmacType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
