#include "hydra_quant.h"
// Implementation in progress.
