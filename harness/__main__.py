from harness import cli

raise SystemExit(cli.main())
