from generators.lantern.cli import main

raise SystemExit(main())
