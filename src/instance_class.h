/* Instance classes and their clocks (RT12): app.yaml's instance_class for
 * the default version (F1 600 MHz by default, F2 1.2 GHz, F4 and F4_1G
 * 2.4 GHz, and the backend classes B1..B8 of backends_config.h). CPU time
 * counts as megacycles at this clock (instance_stats.h). */
#ifndef GAELIC_INSTANCE_CLASS_H
#define GAELIC_INSTANCE_CLASS_H

#define INSTANCE_CLASS_DEFAULT_MHZ 600

/* The class `name` names, spelt as the tables spell it: App Engine took
 * the letter in either case ("f2" is "F2"), the rest exactly. NULL when
 * it names none. Static storage. */
const char *instance_class_name(const char *name);

/* The clock of class `name` (either case of its letter) in MHz; NULL:
 * the default (F1). -1 when unknown (config.c refuses such names). */
int instance_class_mhz(const char *name);

#endif
