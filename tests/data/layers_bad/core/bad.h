/* planted: core includes io */
#include "io/fasta.h"
