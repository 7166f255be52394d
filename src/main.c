/* main.c: the `ncsn` command line (being assembled). */
#include <stdio.h>
int main(void) {
    fprintf(stderr, "ncsn: under construction\n");
    return 2;
}
