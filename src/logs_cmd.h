/* `gaelic logs`: the stored request logs on the command line (LG3). */
#ifndef GAELIC_LOGS_CMD_H
#define GAELIC_LOGS_CMD_H

int logs_main(int argc, char **argv);

#endif
