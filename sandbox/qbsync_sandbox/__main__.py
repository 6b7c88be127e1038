from qbsync_sandbox.cli import main

main()
