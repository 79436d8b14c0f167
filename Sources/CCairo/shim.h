// cairo's drawing API with its SVG and PNG (image) surfaces, for ZooPlot.
#include <cairo.h>
#include <cairo-svg.h>
