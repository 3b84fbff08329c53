/* Random 4 KiB copies out of and into 1 GiB of 2 MiB huge pages: glibc memcpy, rep movsb, AVX2 loads/stores, AVX2
 * non-temporal stores. Needs 512 free huge pages. gcc -O2 -mavx2 -o /tmp/copy-cost perf/bench/copy-cost.c */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <stdint.h>
#include <immintrin.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static void movsb(void*d,const void*s,size_t n){asm volatile("rep movsb":"+D"(d),"+S"(s),"+c"(n)::"memory");}
static void avx(void*d,const void*s,size_t n){for(size_t i=0;i<n;i+=128){__m256i a=_mm256_loadu_si256((void*)((char*)s+i)),b=_mm256_loadu_si256((void*)((char*)s+i+32)),c=_mm256_loadu_si256((void*)((char*)s+i+64)),e=_mm256_loadu_si256((void*)((char*)s+i+96));_mm256_storeu_si256((void*)((char*)d+i),a);_mm256_storeu_si256((void*)((char*)d+i+32),b);_mm256_storeu_si256((void*)((char*)d+i+64),c);_mm256_storeu_si256((void*)((char*)d+i+96),e);}}
static void nt(void*d,const void*s,size_t n){for(size_t i=0;i<n;i+=128){__m256i a=_mm256_loadu_si256((void*)((char*)s+i)),b=_mm256_loadu_si256((void*)((char*)s+i+32)),c=_mm256_loadu_si256((void*)((char*)s+i+64)),e=_mm256_loadu_si256((void*)((char*)s+i+96));_mm256_stream_si256((void*)((char*)d+i),a);_mm256_stream_si256((void*)((char*)d+i+32),b);_mm256_stream_si256((void*)((char*)d+i+64),c);_mm256_stream_si256((void*)((char*)d+i+96),e);} _mm_sfence();}
typedef void(*cp)(void*,const void*,size_t);
int main(){size_t sz=1UL<<30;char*big=mmap(0,sz,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB,-1,0);if(big==MAP_FAILED){perror("mmap");return 1;}memset(big,1,sz);
char*hot=aligned_alloc(4096,128*4096);memset(hot,2,128*4096);int N=2000000;uint32_t*off=malloc(N*4);srand(1);for(int i=0;i<N;i++)off[i]=rand()%(sz/4096);
cp f[]={(cp)memcpy,movsb,avx,nt};const char*nm[]={"memcpy","movsb","avx","nt"};
for(int r=0;r<3;r++)for(int k=0;k<4;k++){double t=now();for(int i=0;i<N;i++)f[k](hot+(i&127)*4096,big+(size_t)off[i]*4096,4096);double rd=(now()-t)/N*1e9;t=now();for(int i=0;i<N;i++)f[k](big+(size_t)off[i]*4096,hot+(i&127)*4096,4096);double wr=(now()-t)/N*1e9;printf("%-7s read(rand src) %6.0f ns  write(rand dst) %6.0f ns\n",nm[k],rd,wr);}
}
