// Graphviz's layout/render context (libgvc) and graph library (libcgraph), from libgraphviz-dev.
#include <graphviz/gvc.h>
#include <graphviz/cgraph.h>
#include <dlfcn.h>

#ifdef __linux__
// glibc's dladdr and Dl_info are declared only under _GNU_SOURCE; the same layout under another name.
typedef struct {
  const char *dli_fname;
  void *dli_fbase;
  const char *dli_sname;
  void *dli_saddr;
} zoo_dl_info;
extern int zoo_dladdr(const void *address, zoo_dl_info *info) __asm__("dladdr");
#else
typedef Dl_info zoo_dl_info;
#define zoo_dladdr dladdr
#endif

/// The path of the loaded libgvc shared library, or NULL.
static inline const char *zoo_gvc_library_path(void) {
  zoo_dl_info info;
  if (zoo_dladdr((const void *)&gvContext, &info) && info.dli_fname) return info.dli_fname;
  return 0;
}

#include <stdlib.h>
#include <string.h>

// Reading DOT with stable object IDs.
//
// cgraph's default ID discipline makes a named object's ID the address of its interned name, and
// keeps subgraphs ordered by ID: the order of clusters, hence the layout, then depends on where
// malloc put the names, and a second render in the same process can differ from the first. This
// discipline numbers names in order of first appearance (even IDs; anonymous objects get odd IDs),
// so every read of the same text gives the same graph.

typedef struct {
  char **names;
  long count, capacity;
  IDTYPE anonymous;
} zoo_id_state;

static void *zoo_id_open(Agraph_t *g, Agdisc_t *disc) {
  (void)g;
  (void)disc;
  zoo_id_state *s = (zoo_id_state *)calloc(1, sizeof(zoo_id_state));
  if (s) s->anonymous = 1;
  return s;
}

static long zoo_id_map(void *state, int objtype, char *str, IDTYPE *id, int createflag) {
  (void)objtype;
  zoo_id_state *s = (zoo_id_state *)state;
  if (!str) {
    *id = s->anonymous;
    s->anonymous += 2;
    return 1;
  }
  for (long i = 0; i < s->count; i++) {
    if (strcmp(s->names[i], str) == 0) {
      *id = (IDTYPE)(2 * (i + 1));
      return 1;
    }
  }
  if (!createflag) return 0;
  if (s->count == s->capacity) {
    long capacity = s->capacity ? 2 * s->capacity : 64;
    char **names = (char **)realloc(s->names, (size_t)capacity * sizeof(char *));
    if (!names) return 0;
    s->names = names;
    s->capacity = capacity;
  }
  char *copy = strdup(str);
  if (!copy) return 0;
  s->names[s->count++] = copy;
  *id = (IDTYPE)(2 * s->count);
  return 1;
}

static long zoo_id_alloc(void *state, int objtype, IDTYPE request) {
  (void)state;
  (void)objtype;
  (void)request;
  return 0;
}

static void zoo_id_free(void *state, int objtype, IDTYPE id) {
  (void)state;
  (void)objtype;
  (void)id;
}

static char *zoo_id_print(void *state, int objtype, IDTYPE id) {
  (void)objtype;
  zoo_id_state *s = (zoo_id_state *)state;
  if (id % 2 != 0 || id == 0 || (long)(id / 2) > s->count) return 0;
  return s->names[id / 2 - 1];
}

static void zoo_id_close(void *state) {
  zoo_id_state *s = (zoo_id_state *)state;
  for (long i = 0; i < s->count; i++) free(s->names[i]);
  free(s->names);
  free(s);
}

static void zoo_id_register(void *state, int objtype, void *obj) {
  (void)state;
  (void)objtype;
  (void)obj;
}

static Agiddisc_t zoo_id_disc = {
  zoo_id_open, zoo_id_map, zoo_id_alloc, zoo_id_free, zoo_id_print, zoo_id_close, zoo_id_register,
};

typedef struct {
  const char *text;
  size_t length, offset;
} zoo_reader;

static int zoo_read_chunk(void *chan, char *buf, int bufsize) {
  zoo_reader *r = (zoo_reader *)chan;
  size_t n = r->length - r->offset;
  if (n > (size_t)bufsize) n = (size_t)bufsize;
  memcpy(buf, r->text + r->offset, n);
  r->offset += n;
  return (int)n;
}

/// Parses DOT text like agmemread, with the stable ID discipline above. NULL on a syntax error
/// (reported through agerr).
static inline Agraph_t *zoo_read_dot(const char *text) {
  static Agiodisc_t io;
  static Agdisc_t disc;
  io.afread = zoo_read_chunk;
  io.putstr = AgIoDisc.putstr;
  io.flush = AgIoDisc.flush;
  disc.mem = &AgMemDisc;
  disc.id = &zoo_id_disc;
  disc.io = &io;
  zoo_reader reader = {text, strlen(text), 0};
  return agread(&reader, &disc);
}
