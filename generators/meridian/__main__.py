from generators.meridian.cli import main

raise SystemExit(main())
