/*
 * floor_child.c — the trivial child of bench/baseline's floors
 * (bench/src/wpool-baseline/floor.h). Linked against libc alone, so its
 * start-up is exec + the dynamic loader + libc and nothing a worker adds.
 *
 *   floor_child        write one byte, then wait for stdin EOF; exit 0
 *   floor_child echo   copy stdin to stdout until EOF (the pipe floor's peer)
 */
#include <string.h>
#include <unistd.h>

static int echo(void) {
  static char buf[65536];
  for (;;) {
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n <= 0) return n == 0 ? 0 : 1;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(STDOUT_FILENO, buf + off, (size_t)(n - off));
      if (w <= 0) return 1;
      off += w;
    }
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "echo") == 0) return echo();
  if (write(STDOUT_FILENO, "!", 1) != 1) return 1;
  char b;
  while (read(STDIN_FILENO, &b, 1) > 0) {
  }
  return 0;
}
