// Linked with one area library taken whole and only the libraries that area declares (see
// tests/CMakeLists.txt): building this program is the check that the area reaches no higher one.
int main() { return 0; }
