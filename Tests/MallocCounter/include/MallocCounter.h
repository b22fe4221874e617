// Counts heap allocations made by the calling thread between malloc_counter_start and malloc_counter_stop.
// Linked into the test process only: it replaces malloc and friends with wrappers around glibc's own.
#pragma once
void malloc_counter_start(void);
long malloc_counter_stop(void);
