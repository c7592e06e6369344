from acams_db.cli.app import main

main()
