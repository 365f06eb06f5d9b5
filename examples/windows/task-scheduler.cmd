:: FR : Crée une tâche planifiée Windows : le 1er de chaque mois à 7 h, analyse et envoi du
::      rapport. À lancer une fois dans une invite de commandes (cmd), sans droits admin.
::      `auditor schedule install` affiche cette commande avec vos chemins.
:: EN : Creates a Windows scheduled task: on the 1st of each month at 7:00, scan and email
::      the report. Run once in a command prompt (cmd), no admin rights needed.
::      `auditor schedule install` prints this command with your paths.
schtasks /Create /SC MONTHLY /D 1 /ST 07:00 /TN "auditor report" /TR "C:\Users\alice\.local\bin\auditor.exe scan --quiet --fail-on never --send --lang fr --config C:\Users\alice\AppData\Local\auditor\auditor.toml" /F
