from acams_db.cli.main import main

main()
