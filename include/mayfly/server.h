/* server: owns the uv_loop, the listeners (through net/), the configuration and the cron
 * timer that drives active expiry, client timeouts and incremental rehashing. */
#ifndef MAYFLY_SERVER_H
#define MAYFLY_SERVER_H

/* Runs the server with the loaded configuration until it shuts down. Returns the process
 * exit status. */
int server_run(void);

#endif
