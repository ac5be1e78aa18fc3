// llhttp's api.c from Debian node-llhttp (found on the include path), compiled into the addon
// with hidden visibility.
#include <api.c>
