/* How many places outside the app folder its links may lead to, when the
 * server follows them (--follow_symlinks; src/app_links.h): each is a
 * mount and a Landlock rule of an instance's tree. */
#ifndef GAELIC_SANDBOX_LINKED_H
#define GAELIC_SANDBOX_LINKED_H

#define SANDBOX_LINKED_MAX 8

#endif
