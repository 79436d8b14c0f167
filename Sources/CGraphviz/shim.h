// Graphviz's layout/render context (libgvc) and graph library (libcgraph), from libgraphviz-dev.
#include <graphviz/gvc.h>
#include <graphviz/cgraph.h>
#include <dlfcn.h>

// glibc's dladdr and Dl_info are declared only under _GNU_SOURCE; the same layout under another name.
typedef struct {
  const char *dli_fname;
  void *dli_fbase;
  const char *dli_sname;
  void *dli_saddr;
} zoo_dl_info;
extern int zoo_dladdr(const void *address, zoo_dl_info *info) __asm__("dladdr");

/// The path of the loaded libgvc shared library, or NULL.
static inline const char *zoo_gvc_library_path(void) {
  zoo_dl_info info;
  if (zoo_dladdr((const void *)&gvContext, &info) && info.dli_fname) return info.dli_fname;
  return 0;
}
