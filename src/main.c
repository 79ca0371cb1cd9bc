/* main: placeholder until the server lands. */
#include <stdio.h>

int main(void) {
    puts("mayfly " MAYFLY_VERSION);
    return 0;
}
