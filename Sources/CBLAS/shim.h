// The BLAS the engine calls: the CBLAS interface (`cblas_sgemm`, `cblas_sgemv`) plus two calls that
// differ between libraries, wrapped here so Swift names neither library.
// - Linux and Homebrew: OpenBLAS (Debian: libopenblas-dev; Homebrew: openblas; pkg-config `openblas`).
// - macOS without OpenBLAS (`ZOO_ACCELERATE` defined, or OpenBLAS's cblas.h not found): Accelerate.
#if defined(__APPLE__) && (defined(ZOO_ACCELERATE) || !__has_include(<cblas.h>))
#define ACCELERATE_NEW_LAPACK 1
#include <Accelerate/Accelerate.h>
/// Accelerate sizes its own thread pool; nothing to set.
static inline void zoo_blas_set_threads(int n) { (void)n; }
static inline const char *zoo_blas_name(void) { return "Accelerate"; }
#else
#include <cblas.h>
/// The threads OpenBLAS's own loops may use.
static inline void zoo_blas_set_threads(int n) { openblas_set_num_threads(n); }
/// The kernel set OpenBLAS chose for this CPU (`Haswell`, `SkylakeX`, `Zen`, `NEOVERSEN1`…).
static inline const char *zoo_blas_name(void) { return openblas_get_corename(); }
#endif
