/* Background threads' frames to the master (BG1-BG3). Part of `_gaelic`:
 *
 *   background_started(id)          IPC_BACKGROUND_START: a background
 *                                   thread with log id `id` (top bit set)
 *                                   starts; the master opens its request log
 *   background_ended(id, failed)    IPC_BACKGROUND_END: it ended (failed:
 *                                   it raised), its request log is complete
 */
#ifndef GAELIC_BACKGROUND_H
#define GAELIC_BACKGROUND_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

extern PyMethodDef background_methods[];

#endif
