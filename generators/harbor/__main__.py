from generators.harbor.cli import main

raise SystemExit(main())
