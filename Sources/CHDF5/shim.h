// HDF5's predefined types (H5T_NATIVE_DOUBLE, H5P_DEFAULT's siblings, ...) are macros that
// call H5open() and read a global id; Swift cannot import them, so they are wrapped here.
// The helpers below the getters hide API differences between HDF5 1.10 and 1.12+.
#ifndef QFORGE_CHDF5_SHIM_H
#define QFORGE_CHDF5_SHIM_H
#include <hdf5.h>
#include <string.h>
#include <stdio.h>

static inline hid_t qf_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t qf_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t qf_h5t_ieee_f64le(void) { return H5T_IEEE_F64LE; }
static inline hid_t qf_h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t qf_h5t_std_u64le(void) { return H5T_STD_U64LE; }
static inline hid_t qf_h5t_std_u32le(void) { return H5T_STD_U32LE; }
static inline hid_t qf_h5t_std_u8le(void) { return H5T_STD_U8LE; }
static inline hid_t qf_h5t_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t qf_h5t_std_i32le(void) { return H5T_STD_I32LE; }
static inline hid_t qf_h5t_native_uint64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t qf_h5t_native_uint32(void) { return H5T_NATIVE_UINT32; }
static inline hid_t qf_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t qf_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t qf_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t qf_h5t_c_s1(void) { return H5T_C_S1; }
static inline hid_t qf_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t qf_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t qf_h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t qf_h5p_link_create(void) { return H5P_LINK_CREATE; }
static inline hid_t qf_h5s_all(void) { return H5S_ALL; }
static inline hsize_t qf_h5s_unlimited(void) { return H5S_UNLIMITED; }
static inline size_t qf_h5t_variable(void) { return H5T_VARIABLE; }
static inline unsigned qf_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned qf_h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline unsigned qf_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }

/// Turns off HDF5's automatic error-stack printing. In a thread-safe build (Debian's is) the
/// setting belongs to the calling thread, so callers repeat it before each operation.
static inline void qf_h5e_silence(void) { (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static herr_t qf_h5e_walk_innermost(unsigned n, const H5E_error2_t *err, void *data) {
    // Walked upward: n == 0 is the frame where the error was first detected.
    if (n == 0 && err && err->desc) {
        char *buf = (char *)((void **)data)[0];
        size_t size = *(size_t *)((void **)data)[1];
        snprintf(buf, size, "%s", err->desc);
    }
    return 0;
}

/// Copies the most specific message of this thread's HDF5 error stack into `buf` (empty if
/// none), then clears the stack.
static inline void qf_h5e_innermost_message(char *buf, size_t size) {
    if (size == 0) return;
    buf[0] = 0;
    void *data[2] = {buf, &size};
    (void)H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, qf_h5e_walk_innermost, data);
    (void)H5Eclear2(H5E_DEFAULT);
}

/// Frees the memory HDF5 allocated for variable-length data read into `buf`.
static inline herr_t qf_vlen_reclaim(hid_t type, hid_t space, void *buf) {
#if H5_VERSION_GE(1, 12, 0)
    return H5Treclaim(type, space, H5P_DEFAULT, buf);
#else
    return H5Dvlen_reclaim(type, space, H5P_DEFAULT, buf);
#endif
}

/// Keeps file locking but tolerates file systems without it (Lustre/NFS mounts on clusters).
static inline herr_t qf_fapl_tolerate_missing_locks(hid_t fapl) {
#if H5_VERSION_GE(1, 10, 7)
    return H5Pset_file_locking(fapl, 1, 1);
#else
    (void)fapl;
    return 0;
#endif
}

static herr_t qf_h5a_count_cb(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
    (void)loc; (void)name; (void)info;
    (*(hsize_t *)data)++;
    return 0;
}

/// Number of attributes on an object (group, dataset or file root); negative on error.
static inline long long qf_h5a_count(hid_t obj) {
    hsize_t count = 0;
    hsize_t idx = 0;
    if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, qf_h5a_count_cb, &count) < 0) return -1;
    return (long long)count;
}
#endif
