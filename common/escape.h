/*
 * Text from a guest on the user's terminal.  File names and file contents
 * that a guest wrote are attacker input: printed as they are, a name with a
 * newline forges output lines, and ESC sequences set the terminal's title,
 * clear the screen or worse.  Human output passes such text through
 * pyro_escape_text(); JSON output needs nothing (its encoder escapes every
 * control character).  Output the user asked for as bytes (exec, disk
 * read) stays raw.
 */
#ifndef PYRO_ESCAPE_H
#define PYRO_ESCAPE_H

#include <stddef.h>

#define PYRO_ESC_LINES		0x1	/* keep \n and \t (text blocks) */
#define PYRO_ESC_BACKSLASH	0x2	/* "\" becomes "\\" (names: unambiguous) */

/*
 * A printable copy of s (malloc'd; NULL on no memory): C0 controls, DEL,
 * C1 controls (U+0080-U+009F), invalid UTF-8 bytes and the bidirectional
 * overrides and isolates (U+202A-U+202E, U+2066-U+2069) are written as
 * \n, \t, \r, \xNN or \uNNNN; everything else, other UTF-8 included, is kept.
 */
char	*pyro_escape_text(const char *s, unsigned flags);

#endif
