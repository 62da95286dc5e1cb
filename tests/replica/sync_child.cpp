// placeholder: filled in by its owner (a child process that syncs a replica, for the SIGKILL crash test)
int main() { return 0; }
