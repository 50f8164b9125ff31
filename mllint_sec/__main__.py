from mllint_sec.cli import main

main()
