"""vaeapp's Streamlit entry point in the repository: `streamlit run app.py` (the installed
package's is `vaeapp app`). The app itself lives in vaeapp/ui/app.py."""

from vaeapp.ui.app import main

main()
