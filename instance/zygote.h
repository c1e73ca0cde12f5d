/* The zygote process: `gaelic _zygote --app DIR --python DIR --threads N
 * --fd FD` (started by the master, never by users). Protocol: zygote_proto.h;
 * each forked instance speaks ipc.h on its channel. argv[0] is "_zygote". */
#ifndef GAELIC_ZYGOTE_H
#define GAELIC_ZYGOTE_H

int zygote_main(int argc, char **argv);

#endif
