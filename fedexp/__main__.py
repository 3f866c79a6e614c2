from fedexp.runner.cli import main

main()
