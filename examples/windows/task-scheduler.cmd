:: FR : Crée une tâche planifiée Windows : le 1er de chaque mois à 7 h, analyse et envoi du
::      rapport. À lancer une fois dans une invite de commandes (cmd), sans droits admin.
:: EN : Creates a Windows scheduled task: on the 1st of each month at 7:00, scan and email
::      the report. Run once in a command prompt (cmd), no admin rights needed.
schtasks /Create /SC MONTHLY /D 1 /ST 07:00 /TN "auditor monthly report" /TR "\"%LOCALAPPDATA%\Programs\Python\Python312\Scripts\auditor.exe\" scan --send --quiet"
