/* `gaelic backends APPDIR VERB [BACKEND]`: talks to the running server of
 * the app through its control socket (BK6). */
#ifndef GAELIC_BACKENDS_CMD_H
#define GAELIC_BACKENDS_CMD_H

int backends_main(int argc, char **argv);

#endif
