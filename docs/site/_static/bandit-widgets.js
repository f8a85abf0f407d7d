/* The saved widgets on the course website, drawn by the Jupyter widget manager that the
 * site serves itself (_static/jupyter-widgets/libembed-amd.js, loaded right after this).
 *
 * 1. libembed-amd.js defines its modules by name. RequireJS derives a module's URL from its
 *    name, and the widget manager takes the folder of that URL as the place of its icon
 *    fonts; without paths they would be requested from the page's folder. So every name
 *    points at the widget manager's own folder.
 * 2. No CDN: a widget module missing from the bundle would be fetched from jsdelivr. Here it
 *    is requested from this site, where it does not exist, and fails visibly instead.
 * 3. The widget manager typesets labels with MathJax 2's MathJax.Hub.Queue, which MathJax 3
 *    lacks: Hub.Queue is mapped onto MathJax 3's typesetPromise.
 * 4. The widgets are drawn once the page has loaded and MathJax (if the page has maths) is
 *    ready, from the state saved in the notebook (the widget-state script in the page).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var folder = new URL("jupyter-widgets/", script.src).href;
  var lib = folder + "libembed-amd";
  var paths = {};
  ["@jupyter-widgets/base", "@jupyter-widgets/base7", "@jupyter-widgets/controls",
   "@jupyter-widgets/controls7", "@jupyter-widgets/html-manager",
   "@jupyter-widgets/html-manager/dist/libembed-amd"].forEach(function (name) {
    paths[name] = lib;
  });
  window.requirejs.config({ paths: paths });
  script.setAttribute("data-jupyter-widgets-cdn", folder + "not-bundled/");

  function mathjaxReady() {
    var mj = window.MathJax;
    return mj && mj.startup && mj.startup.promise ? mj.startup.promise : Promise.resolve();
  }

  function mapHubQueue() {
    var mj = window.MathJax;
    if (!mj || mj.Hub || !mj.typesetPromise) return;
    mj.Hub = {
      Queue: function () {
        Array.prototype.forEach.call(arguments, function (job) {
          if (Array.isArray(job) && job[0] === "Typeset") {
            mj.typesetPromise(job[2] ? [job[2]] : undefined).catch(function (err) {
              console.error("MathJax could not typeset a widget's label", err);
            });
          }
        });
      }
    };
  }

  window.addEventListener("load", function () {
    mathjaxReady().then(function () {
      mapHubQueue();
      window.require(["@jupyter-widgets/html-manager/dist/libembed-amd"], function (embed) {
        embed.renderWidgets();
      });
    });
  });
})();
