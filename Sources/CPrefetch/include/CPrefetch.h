#ifndef QFORGE_CPREFETCH_H
#define QFORGE_CPREFETCH_H

// Swift has no prefetch instruction. The statevector's gathered cache windows read short runs
// of amplitudes far apart in memory, which the hardware prefetchers do not follow: the next
// window's runs are requested while this window computes. Inlined into the Swift caller.
static inline void qforge_prefetch_for_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

#endif
