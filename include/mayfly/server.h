/* server: owns the uv_loop, the listeners (through net/), the configuration and the cron
 * timer that drives active expiry, client timeouts and incremental rehashing. */
#ifndef MAYFLY_SERVER_H
#define MAYFLY_SERVER_H

/* The composition root's registrations: every subsystem's directives (then sets them to
 * their defaults), command families, dispatch gates, INFO sections and the command
 * layer's db hooks. Call once, before loading the configuration (main.c; unit tests that
 * need the whole table); later calls do nothing. */
void server_init(void);

/* Runs the server with the loaded configuration until it shuts down. Returns the process
 * exit status. */
int server_run(void);

#endif
