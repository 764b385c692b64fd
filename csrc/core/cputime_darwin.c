/*
** Thread CPU clocks on macOS, which has no pthread_getcpuclockid: the
** thread's Mach port, read with thread_info.
*/
#if defined(__APPLE__)
#include <mach/mach.h>
#include <pthread.h>

#include "cputime.h"

mt_cpuclock cpuclock_self(void) { return (mt_cpuclock)pthread_mach_thread_np(pthread_self()); }

uint64_t cpuclock_ns(mt_cpuclock c) {
  thread_basic_info_data_t info;
  mach_msg_type_number_t count = THREAD_BASIC_INFO_COUNT;
  if (c == 0 || thread_info((thread_act_t)c, THREAD_BASIC_INFO, (thread_info_t)&info, &count) != KERN_SUCCESS) return 0;
  uint64_t s = (uint64_t)info.user_time.seconds + (uint64_t)info.system_time.seconds;
  uint64_t us = (uint64_t)info.user_time.microseconds + (uint64_t)info.system_time.microseconds;
  return s * 1000000000u + us * 1000u;
}

uint64_t cpuclock_self_ns(void) { return cpuclock_ns(cpuclock_self()); }
#endif
