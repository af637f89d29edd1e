@echo off
rem Apply the dynamic per-user models patches to a LibreChat checkout, installing
rem librechat-dynmodels first (from the copy of the project that holds this script) if needed.
rem
rem   scripts\post-install-dynamic-models.bat [LIBRECHAT_DIR] [apply options...]
rem
rem Run it from inside a LibreChat checkout, or name the checkout as the first argument (or set
rem LIBRECHAT_DIR). Every argument goes to "librechat-dynmodels apply" as it is.
rem The tool is, in this order: %DYNMODELS_BIN% when set; librechat-dynmodels in the private venv
rem or on PATH when its version is this copy's; else installed from this copy with pipx when pipx
rem is present, otherwise into a private venv next to the scripts folder (..\.dynmodels-venv, or
rem %DYNMODELS_VENV%). No administrator rights, no global pip. Running it again is harmless.
rem The exit code is the tool's (0 applied or already applied, 1 nothing changed, see README.md),
rem or 1 when the tool could not be installed.
setlocal EnableExtensions EnableDelayedExpansion

for %%I in ("%~dp0..") do set "PROJECT_DIR=%%~fI"
if defined DYNMODELS_VENV (set "VENV_DIR=%DYNMODELS_VENV%") else (set "VENV_DIR=%PROJECT_DIR%\.dynmodels-venv")

set "WANTED="
for /f "tokens=2 delims==" %%V in ('findstr /b /c:"__version__ = " "%PROJECT_DIR%\src\librechat_dynmodels\__init__.py" 2^>nul') do set "WANTED=%%~V"
if not defined WANTED (
  echo post-install: %PROJECT_DIR% is not a copy of librechat-dynmodels 1>&2
  exit /b 1
)
set "WANTED=%WANTED: =%"
set "WANTED=%WANTED:"=%"

set "TOOL="
if defined DYNMODELS_BIN (
  set "TOOL=%DYNMODELS_BIN%"
  echo post-install: using !TOOL! ^(DYNMODELS_BIN^) 1>&2
  goto run
)

rem Reuse an installed tool of this copy's version: the private venv first, then PATH.
call :try_tool "%VENV_DIR%\Scripts\librechat-dynmodels.exe"
if defined TOOL goto run
for /f "delims=" %%T in ('where librechat-dynmodels 2^>nul') do if not defined TOOL call :try_tool "%%T"
if defined TOOL goto run

where pipx >nul 2>nul
if not errorlevel 1 (
  echo post-install: installing librechat-dynmodels %WANTED% from %PROJECT_DIR% with pipx 1>&2
  pipx install --force "%PROJECT_DIR%" 1>&2
  if errorlevel 1 (
    echo post-install: pipx install failed; the checkout was not touched 1>&2
    exit /b 1
  )
  set "BIN_DIR="
  for /f "delims=" %%B in ('pipx environment --value PIPX_BIN_DIR 2^>nul') do set "BIN_DIR=%%B"
  if not defined BIN_DIR set "BIN_DIR=%USERPROFILE%\.local\bin"
  set "TOOL=!BIN_DIR!\librechat-dynmodels.exe"
  goto installed
)

set "PYTHON="
set "CHECK=import sys; sys.exit(sys.version_info < (3, 10))"
where py >nul 2>nul && py -3 -c "%CHECK%" >nul 2>nul && set "PYTHON=py -3"
if not defined PYTHON (where python >nul 2>nul && python -c "%CHECK%" >nul 2>nul && set "PYTHON=python")
if not defined PYTHON (where python3 >nul 2>nul && python3 -c "%CHECK%" >nul 2>nul && set "PYTHON=python3")
if not defined PYTHON (
  echo post-install: needs pipx or Python 3.10 or newer; the checkout was not touched 1>&2
  exit /b 1
)
echo post-install: installing librechat-dynmodels %WANTED% from %PROJECT_DIR% into %VENV_DIR% 1>&2
if not exist "%VENV_DIR%\Scripts\python.exe" (
  %PYTHON% -m venv "%VENV_DIR%" 1>&2
  if errorlevel 1 (
    echo post-install: cannot create %VENV_DIR%; the checkout was not touched 1>&2
    exit /b 1
  )
)
"%VENV_DIR%\Scripts\python.exe" -m pip install --quiet --disable-pip-version-check "%PROJECT_DIR%" 1>&2
if errorlevel 1 (
  echo post-install: pip install into %VENV_DIR% failed; the checkout was not touched 1>&2
  exit /b 1
)
set "TOOL=%VENV_DIR%\Scripts\librechat-dynmodels.exe"

:installed
if not exist "%TOOL%" (
  echo post-install: installed, but %TOOL% is missing; the checkout was not touched 1>&2
  exit /b 1
)

:run
set "TARGET="
if not "%~1"=="" if exist "%~1\" set "TARGET= "%~1""
set "DRY_RUN=0"
for %%A in (%*) do if /i "%%~A"=="--dry-run" set "DRY_RUN=1"

echo post-install: running: "%TOOL%" apply %* 1>&2
"%TOOL%" apply %*
set "CODE=%ERRORLEVEL%"

if "%CODE%"=="0" (
  if "%DRY_RUN%"=="1" (
    echo post-install: dry run: nothing was written 1>&2
  ) else (
    echo post-install: the files listed above are patched ^(or already were^); originals are kept in .librechat-dynmodels\ 1>&2
    echo post-install: check them later with: "%TOOL%" verify!TARGET! 1>&2
    echo post-install: roll back with:        "%TOOL%" rollback!TARGET! 1>&2
    echo post-install: next: rebuild what LibreChat loads ^(the client bundle and the data provider are built from the sources^): npm run frontend, in the checkout 1>&2
    echo post-install: next: restart LibreChat so it loads them ^(npm run backend, or your process manager^) 1>&2
    echo post-install: next: with docker compose, the checkout is not what runs: copy "%PROJECT_DIR%\examples\docker\docker-compose.override.yml" next to docker-compose.yml, set LIBRECHAT_VERSION in .env and run: docker compose up -d --build 1>&2
    echo post-install: check what runs with:  "%TOOL%" verify --runtime!TARGET! ^(the built files^), "%TOOL%" verify --url http://HOST:3080 ^(the server^) 1>&2
  )
) else (
  echo post-install: librechat-dynmodels apply exited with code %CODE% ^(see the error above; 1 means nothing was changed^) 1>&2
)
exit /b %CODE%

:try_tool
rem Sets TOOL to %1 when it exists and reports this copy's version.
if not exist "%~1" exit /b 0
for /f "tokens=2" %%V in ('"%~1" --version 2^>nul') do if "%%V"=="%WANTED%" set "TOOL=%~1"
if defined TOOL echo post-install: librechat-dynmodels %WANTED% is already installed: %~1 1>&2
exit /b 0
