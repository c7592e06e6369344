from acams_db.cli import main

main()
